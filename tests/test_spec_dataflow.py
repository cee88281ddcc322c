"""The data-flow reader (engine/diagram/spec_dataflow.py), on examples of its own wording."""

from __future__ import annotations

import time

import pytest

from engine.diagram.spec import extract_spec
from engine.diagram.spec_dataflow import dataflow, describes_flow


def wiring(text: str) -> tuple[set[str], set[str], set[tuple[str, str]]]:
    """(data names, process names, edges by name) of what `text` reads as."""
    found = dataflow(text)
    assert found is not None, text
    names, data, edges = found
    assert len(set(names)) == len(names)
    kept = {names[i] for i in data}
    return kept, set(names) - kept, {(names[a], names[b]) for a, b in edges}


CASES = [
    (  # comma-separated clauses, "which gives", "go into"
        "scanned receipts go into an ocr model which gives plain text, the plain text goes "
        "into a field parser which gives line items",
        {"scanned receipts", "plain text", "line items"}, {"ocr model", "field parser"},
        {("scanned receipts", "ocr model"), ("ocr model", "plain text"),
         ("plain text", "field parser"), ("field parser", "line items")},
    ),
    (  # passive voice, "by P into Y"; a stored result
        "the emails are parsed by a mime reader into message bodies. the message bodies are "
        "labelled by a spam classifier into verdicts. verdicts are stored in redis",
        {"emails", "message bodies", "verdicts"}, {"mime reader", "spam classifier", "redis"},
        {("emails", "mime reader"), ("mime reader", "message bodies"),
         ("message bodies", "spam classifier"), ("spam classifier", "verdicts"),
         ("verdicts", "redis")},
    ),
    (  # a join: "X and Y both go into P that outputs Z"
        "street photos and gps traces both go into a map matcher that outputs road segments",
        {"street photos", "gps traces", "road segments"}, {"map matcher"},
        {("street photos", "map matcher"), ("gps traces", "map matcher"),
         ("map matcher", "road segments")},
    ),
    (  # "uses both A and B and outputs C" in one clause
        "the pricing model uses both the competitor prices and the stock levels and outputs a "
        "price list",
        {"competitor prices", "stock levels", "price list"}, {"pricing model"},
        {("competitor prices", "pricing model"), ("stock levels", "pricing model"),
         ("pricing model", "price list")},
    ),
    (  # "maps A to B", a later clause reusing the datum
        "the speech encoder maps the waveform to acoustic units, the unit decoder maps the "
        "acoustic units to phonemes",
        {"waveform", "acoustic units", "phonemes"}, {"speech encoder", "unit decoder"},
        {("waveform", "speech encoder"), ("speech encoder", "acoustic units"),
         ("acoustic units", "unit decoder"), ("unit decoder", "phonemes")},
    ),
    (  # arrows: processes told from their words, "+" joins
        "draw it:\n- product photos -> vision encoder -> photo vectors\n"
        "- photo vectors + shopper history -> ranking model -> shortlist",
        {"product photos", "photo vectors", "shopper history", "shortlist"},
        {"vision encoder", "ranking model"},
        {("product photos", "vision encoder"), ("vision encoder", "photo vectors"),
         ("photo vectors", "ranking model"), ("shopper history", "ranking model"),
         ("ranking model", "shortlist")},
    ),
    (  # "it outputs", "Y which Q uses to make Z"
        "sales history and holiday calendars go into a prophet job; it outputs a weekly "
        "forecast which the planner uses to make an order sheet",
        {"sales history", "holiday calendars", "weekly forecast", "order sheet"},
        {"prophet job", "planner"},
        {("sales history", "prophet job"), ("holiday calendars", "prophet job"),
         ("prophet job", "weekly forecast"), ("weekly forecast", "planner"),
         ("planner", "order sheet")},
    ),
    (  # "P feeds X to Q", "the model" for the model named before
        "a batch sampler feeds mini batches to the vit model, the model outputs logits, a "
        "cross entropy loss compares the logits with the labels and outputs a loss value",
        {"mini batches", "logits", "labels", "loss value"},
        {"batch sampler", "vit model", "cross entropy loss"},
        {("batch sampler", "mini batches"), ("mini batches", "vit model"),
         ("vit model", "logits"), ("logits", "cross entropy loss"),
         ("labels", "cross entropy loss"), ("cross entropy loss", "loss value")},
    ),
    (  # a process that makes nothing hands its product to the datum named after it
        "the raw captions are filtered by a profanity filter, the filtered captions are read by "
        "a caption embedder that outputs caption vectors",
        {"raw captions", "filtered captions", "caption vectors"},
        {"profanity filter", "caption embedder"},
        {("raw captions", "profanity filter"), ("profanity filter", "filtered captions"),
         ("filtered captions", "caption embedder"), ("caption embedder", "caption vectors")},
    ),
    (  # a fork: "X feeds two things: P1 that outputs Y and P2"
        "a kafka consumer reads the event stream and writes user actions; the user actions feed "
        "two things: a fraud scorer that outputs risk flags and an audit log",
        {"event stream", "user actions", "risk flags"},
        {"kafka consumer", "fraud scorer", "audit log"},
        {("event stream", "kafka consumer"), ("kafka consumer", "user actions"),
         ("user actions", "fraud scorer"), ("fraud scorer", "risk flags"),
         ("user actions", "audit log")},
    ),
    (  # "S is trained on X", "both X", "P of the two"
        "a labeler takes the raw clips and produces weak labels, then the audio model is "
        "trained on the weak labels and the gold labels",
        {"raw clips", "weak labels", "gold labels"}, {"labeler", "audio model"},
        {("raw clips", "labeler"), ("labeler", "weak labels"), ("weak labels", "audio model"),
         ("gold labels", "audio model")},
    ),
    (  # the original project's wording
        "ML process that contains: - a python file that processes a scan and outputs text and "
        "boxes - a layout model converts the boxes into regions - an llm reads the text and the "
        "regions and outputs a report",
        {"scan", "text", "boxes", "regions", "report"}, {"python file", "layout model", "llm"},
        {("scan", "python file"), ("python file", "text"), ("python file", "boxes"),
         ("boxes", "layout model"), ("layout model", "regions"), ("text", "llm"),
         ("regions", "llm"), ("llm", "report")},
    ),
    (  # a numbered list under "with the following components:"; a one-word model subject
        "vision system with the following components:\n1. whisper turns lecture audio into "
        "captions\n2. a translator takes the captions and outputs subtitles",
        {"lecture audio", "captions", "subtitles"}, {"whisper", "translator"},
        {("lecture audio", "whisper"), ("whisper", "captions"), ("captions", "translator"),
         ("translator", "subtitles")},
    ),
    (  # "2 - ..." numbering; between two data an unknown word is what acts ("chroma")
        "the app has 2 parts\n1 - pages -> splitter -> chunks\n2 - chunks -> chroma -> index",
        {"pages", "chunks", "index"}, {"splitter", "chroma"},
        {("pages", "splitter"), ("splitter", "chunks"), ("chunks", "chroma"),
         ("chroma", "index")},
    ),
    (  # a tool's one-word name before a known verb; "sends" / "serves" X: X is made
        "pipeline with these parts:\n- segment sends page views\n- dbt reads the page views "
        "and writes sessions\n- an api serves session scores from the sessions",
        {"page views", "sessions", "session scores"}, {"segment", "dbt", "api"},
        {("segment", "page views"), ("page views", "dbt"), ("dbt", "sessions"),
         ("sessions", "api"), ("api", "session scores")},
    ),
    (  # a count inside a datum's name is part of it, not a network's size
        "- a retriever takes the question and returns 20 passages\n- a reranker reads the 20 "
        "passages and outputs the top 3 passages",
        {"question", "20 passages", "top 3 passages"}, {"retriever", "reranker"},
        {("question", "retriever"), ("retriever", "20 passages"), ("20 passages", "reranker"),
         ("reranker", "top 3 passages")},
    ),
    (  # "Y is extracted from X by P"; a model's version number is part of its name
        "1. clips are extracted from match video by ffmpeg\n2. the clips go into qwen 2, "
        "which writes captions",
        {"match video", "clips", "captions"}, {"ffmpeg", "qwen 2"},
        {("match video", "ffmpeg"), ("ffmpeg", "clips"), ("clips", "qwen 2"),
         ("qwen 2", "captions")},
    ),
    (  # "fills" / "dumps" X: X is made
        "the poller fills a job queue, the worker reads the job queue and dumps results.json",
        {"job queue", "results.json"}, {"poller", "worker"},
        {("poller", "job queue"), ("job queue", "worker"), ("worker", "results.json")},
    ),
    (  # "X is split into Y by P"; "joins", "copies" take, "exports" makes
        "- the podcast is split into segments by a chunker\n- segment exports listen events\n"
        "- a stats job joins the segments with the listen events and gives retention curves",
        {"podcast", "segments", "listen events", "retention curves"},
        {"chunker", "segment", "stats job"},
        {("podcast", "chunker"), ("chunker", "segments"), ("segment", "listen events"),
         ("segments", "stats job"), ("listen events", "stats job"),
         ("stats job", "retention curves")},
    ),
]


@pytest.mark.parametrize(("text", "data", "processes", "edges"), CASES)
def test_data_flows_are_read(text: str, data: set, processes: set, edges: set) -> None:
    assert wiring(text) == (data, processes, edges)


def test_both_and_of_the_two_refer_back() -> None:
    text = (
        "song lyrics -> lyric encoder -> lyric features; cover art -> art encoder -> art "
        "features; both features go to a fusion head"
    )
    _, _, edges = wiring(text)
    assert {("lyric features", "fusion head"), ("art features", "fusion head")} <= edges
    text = (
        "the left image and the right image each go through a shared cnn, giving a left map "
        "and a right map, and a cost volume of the two gives a disparity"
    )
    _, _, edges = wiring(text)
    assert {("left map", "cost volume"), ("right map", "cost volume")} <= edges


@pytest.mark.parametrize(
    "text",
    [
        "load data, then train, then evaluate",
        "collect logs -> parse -> alert",
        "encoder -> bottleneck -> decoder",
        "a network that takes 4 inputs and outputs 2 classes",
        "an mlp with three inputs, two hidden layers of 8 and one output",
        "fetch the docs, then chunk them, embed the chunks and store them in a vector db",
        "the teacher model makes soft targets, then we train the student",
        "conv 3x3, relu, max pool, dense 10",
        "draw a resnet-50",
        "plan: call the api, parse its reply, check fields, save output",  # steps, not data
        "",
    ],
)
def test_what_is_not_a_data_flow_is_not_read_as_one(text: str) -> None:
    assert dataflow(text) is None


def test_long_lists_give_up_quickly() -> None:
    start = time.perf_counter()
    for bad in ("a reads b, " * 180, "x goes into " * 160, "p, and q " * 200, "a -> b " * 250):
        assert dataflow(bad) is None
    assert time.perf_counter() - start < 3


@pytest.mark.parametrize(
    ("text", "flowing"),
    [
        ("resnet-50 for 10 classes", False),
        ("draw a variational autoencoder", False),
        ("how does knowledge distillation work? draw it", False),
        ("frames are read by an autoencoder that outputs anomaly scores, and the scores are "
         "thresholded by a rule", True),
        ("clicks go into a gradient boosting model; it outputs a churn score", True),
        ("a transformer encoder reads the tokens and outputs contextual embeddings for every "
         "position in the input sentence", True),
    ],
)
def test_process_descriptions_are_told_from_names(text: str, flowing: bool) -> None:
    assert describes_flow(text) is flowing


MORE_CASES = [  # one case per wording the reader once missed, in our own words
    (  # a gloss "(process)"; "reads from X and Y", "writes to Z"
        "the sync job (process) reads from the mysql db and the ftp share and writes to the "
        "lake table",
        {"mysql db", "ftp share", "lake table"}, {"sync job"},
        {("mysql db", "sync job"), ("ftp share", "sync job"), ("sync job", "lake table")},
    ),
    (  # "loads X from Z": X is what is loaded, Z only where it lies
        "queries go to the search api, which loads the index shards from disk and returns hits",
        {"queries", "index shards", "hits"}, {"search api"},
        {("queries", "search api"), ("index shards", "search api"), ("search api", "hits")},
    ),
    (  # a bullet that only names a file is the file the next bullet reads
        "eval process that contains: - a questions.csv file - an ask.py script that reads "
        "questions.csv and writes answers.csv - a grade.py script that reads answers.csv and "
        "writes grades.json",
        {"questions.csv", "answers.csv", "grades.json"}, {"ask.py script", "grade.py script"},
        {("questions.csv", "ask.py script"), ("ask.py script", "answers.csv"),
         ("answers.csv", "grade.py script"), ("grade.py script", "grades.json")},
    ),
    (  # "show ...:" asks for the drawing, it is no step; "P makes A, B"
        "show data + processes: left.csv and right.csv both go into joiner; joiner makes "
        "merged.csv, dupes.csv",
        {"left.csv", "right.csv", "merged.csv", "dupes.csv"}, {"joiner"},
        {("left.csv", "joiner"), ("right.csv", "joiner"), ("joiner", "merged.csv"),
         ("joiner", "dupes.csv")},
    ),
    (  # "which P combines with X into Y"
        "annotators produce tags.json, which the packer combines with clips.zip into bundle.tar",
        {"tags.json", "clips.zip", "bundle.tar"}, {"annotators", "packer"},
        {("annotators", "tags.json"), ("tags.json", "packer"), ("clips.zip", "packer"),
         ("packer", "bundle.tar")},
    ),
    (  # "P triggers Q": a process starts another; "writes Y to Z": Y, written somewhere
        "the cron job triggers the export task; the export task reads the orders table and "
        "writes a report to s3",
        {"orders table", "report"}, {"cron job", "export task"},
        {("cron job", "export task"), ("orders table", "export task"), ("export task", "report")},
    ),
    (  # "the segments": the "speech segments" made before
        "the mic feed is read by the vad model, the vad model writes speech segments, the asr "
        "model reads the segments and writes transcripts",
        {"mic feed", "speech segments", "transcripts"}, {"vad model", "asr model"},
        {("mic feed", "vad model"), ("vad model", "speech segments"),
         ("speech segments", "asr model"), ("asr model", "transcripts")},
    ),
    (  # "X are cleaned by P and stored as Y"
        "raw tweets are cleaned by the filter and stored as clean tweets; the clean tweets feed "
        "the topic model, which writes topics",
        {"raw tweets", "clean tweets", "topics"}, {"filter", "topic model"},
        {("raw tweets", "filter"), ("filter", "clean tweets"), ("clean tweets", "topic model"),
         ("topic model", "topics")},
    ),
    (  # "clause -> Y": the arrow gives the clause's output
        "a judge model scores the drafts → ratings; ratings + prompts go into the dpo trainer → "
        "a policy",
        {"drafts", "ratings", "prompts", "policy"}, {"judge model", "dpo trainer"},
        {("drafts", "judge model"), ("judge model", "ratings"), ("ratings", "dpo trainer"),
         ("prompts", "dpo trainer"), ("dpo trainer", "policy")},
    ),
    (  # arrows, then a sentence about the same process
        "click events -> ingest service -> event log, and the ingest service also writes a receipt",
        {"click events", "event log", "receipt"}, {"ingest service"},
        {("click events", "ingest service"), ("ingest service", "event log"),
         ("ingest service", "receipt")},
    ),
    (  # "from" before a clause is no place to drop: "extracts Y from X, and Q takes Y ..."
        "a vit extracts embeddings from the frame, and a faiss index takes the embeddings and "
        "returns neighbours",
        {"frame", "embeddings", "neighbours"}, {"vit", "faiss index"},
        {("frame", "vit"), ("vit", "embeddings"), ("embeddings", "faiss index"),
         ("faiss index", "neighbours")},
    ),
    (  # "gives X to the model": X goes on to the model
        "the sampler reads clips from disk and gives batches to the model; the model outputs "
        "scores",
        {"clips", "batches", "scores"}, {"sampler", "model"},
        {("clips", "sampler"), ("sampler", "batches"), ("batches", "model"),
         ("model", "scores")},
    ),
    (  # "Y, which Q shows to the user"; a leading "first"
        "first the ranker takes candidates and session data and produces a ranked list, which "
        "the app shows to the user",
        {"candidates", "session data", "ranked list"}, {"ranker", "app"},
        {("candidates", "ranker"), ("session data", "ranker"), ("ranker", "ranked list"),
         ("ranked list", "app")},
    ),
    (  # "Y is computed from X by P"; "a dashboard displays Y": Y is shown, not made
        "a mel spectrogram is computed from the clip by a feature step, a tagger scores the "
        "mel spectrogram and outputs tags, and a web page displays the tags",
        {"clip", "mel spectrogram", "tags"}, {"feature step", "tagger", "web page"},
        {("clip", "feature step"), ("feature step", "mel spectrogram"),
         ("mel spectrogram", "tagger"), ("tagger", "tags"), ("tags", "web page")},
    ),
    (  # "the frames": the "video frames" named before (an input, not only an output)
        "the video frames go through a pose model, which outputs keypoints; the keypoints and "
        "the frames are combined by a renderer into skeleton clips",
        {"video frames", "keypoints", "skeleton clips"}, {"pose model", "renderer"},
        {("video frames", "pose model"), ("pose model", "keypoints"), ("keypoints", "renderer"),
         ("video frames", "renderer"), ("renderer", "skeleton clips")},
    ),
    (  # "takes X as input"; "a model trained on X that outputs Y"; "sends X by email"
        "ops process that contains: - a python script that takes a log file as input and "
        "outputs error counts - a model trained on the error counts that outputs a risk score "
        "- a notifier that sends the risk score by email",
        {"log file", "error counts", "risk score"}, {"python script", "model", "notifier"},
        {("log file", "python script"), ("python script", "error counts"),
         ("error counts", "model"), ("model", "risk score"), ("risk score", "notifier")},
    ),
    (  # a bullet that lists the inputs
        "qa process that contains: - a question and a manual as inputs - an llm that takes the "
        "question and the manual and outputs an answer",
        {"question", "manual", "answer"}, {"llm"},
        {("question", "llm"), ("manual", "llm"), ("llm", "answer")},
    ),
    (  # "speaker turns": a noun that is also a verb, last in a name
        "a diarizer takes the meeting audio and gives speaker turns; a labeler reads the "
        "speaker turns and writes a labeled log",
        {"meeting audio", "speaker turns", "labeled log"}, {"diarizer", "labeler"},
        {("meeting audio", "diarizer"), ("diarizer", "speaker turns"),
         ("speaker turns", "labeler"), ("labeler", "labeled log")},
    ),
    (  # "writes X into Y": X goes in, Y comes out; "from the registry": the registry goes in
        "- a cleaner reads raw rows and gives cleaned rows\n- a packer writes the cleaned rows "
        "into a warehouse table\n- a deployer pulls the container from the registry and "
        "deploys a web service",
        {"raw rows", "cleaned rows", "warehouse table", "container", "registry", "web service"},
        {"cleaner", "packer", "deployer"},
        {("raw rows", "cleaner"), ("cleaner", "cleaned rows"), ("cleaned rows", "packer"),
         ("packer", "warehouse table"), ("container", "deployer"), ("registry", "deployer"),
         ("deployer", "web service")},
    ),
    (  # "picks Y from X", "trains on X", "reads X and shows Y"
        "a sampler picks hard negatives from the candidate pool; a tuner trains on the hard "
        "negatives and outputs weights; a dashboard app reads the weights and shows a chart",
        {"candidate pool", "hard negatives", "weights", "chart"},
        {"sampler", "tuner", "dashboard app"},
        {("candidate pool", "sampler"), ("sampler", "hard negatives"),
         ("hard negatives", "tuner"), ("tuner", "weights"), ("weights", "dashboard app"),
         ("dashboard app", "chart")},
    ),
    (  # "X -> P, which returns Y": an arrow of two, one end a process
        "1. tickets -> triage agent, which returns labels\n2. labels -> router agent",
        {"tickets", "labels"}, {"triage agent", "router agent"},
        {("tickets", "triage agent"), ("triage agent", "labels"), ("labels", "router agent")},
    ),
    (  # a title and a question first; "(a) ... (b)"; "P finds Y in X"; "followed by"
        "quick one? (a) a crawler downloads press releases (b) spacy finds entities in the press "
        "releases (c) a linker maps the entities to wiki ids, followed by a loader which writes "
        "the wiki ids into neo4j",
        {"press releases", "entities", "wiki ids", "neo4j"},
        {"crawler", "spacy", "linker", "loader"},
        {("crawler", "press releases"), ("press releases", "spacy"), ("spacy", "entities"),
         ("entities", "linker"), ("linker", "wiki ids"), ("wiki ids", "loader"),
         ("loader", "neo4j")},
    ),
    (  # "predicts Y for each X"; a condition before a loop back ("if ..., X goes back to P")
        "weekly churn project\n- a scorer predicts churn risk for each active user\n- if risk is "
        "high, the churn risk goes back to the crm sync job",
        {"active user", "churn risk"}, {"scorer", "crm sync job"},
        {("active user", "scorer"), ("scorer", "churn risk"), ("churn risk", "crm sync job")},
    ),
    (  # "1) ... 2) ..." on one line; an aside in brackets; "removes junk from X"; people
        "ocr flow: 1) ocrmypdf turns scans (pdf) into searchable pdfs 2) a dedup script removes "
        "duplicates from the searchable pdfs and gives unique pdfs 3) reviewers check the unique "
        "pdfs",
        {"scans", "searchable pdfs", "unique pdfs"}, {"ocrmypdf", "dedup script", "reviewers"},
        {("scans", "ocrmypdf"), ("ocrmypdf", "searchable pdfs"),
         ("searchable pdfs", "dedup script"), ("dedup script", "unique pdfs"),
         ("unique pdfs", "reviewers")},
    ),
    (  # a long arrow chain where one word's ending misleads ("tts" reads like a plural)
        "voice bot: mic audio -> vad -> clean audio -> whisper -> text -> tts -> speech",
        {"mic audio", "clean audio", "text", "speech"}, {"vad", "whisper", "tts"},
        {("mic audio", "vad"), ("vad", "clean audio"), ("clean audio", "whisper"),
         ("whisper", "text"), ("text", "tts"), ("tts", "speech")},
    ),
    (  # tools named in one word with any verb and a preposition; "scores X with Y"; "flags"
        "- k-means groups the user vectors into cohorts\n- qgis overlays the cohorts on a city "
        "map\n- an analyst scores the cohorts with the survey table and flags weak cohorts",
        {"user vectors", "cohorts", "city map", "survey table", "weak cohorts"},
        {"k-means", "qgis", "analyst"},
        {("user vectors", "k-means"), ("k-means", "cohorts"), ("cohorts", "qgis"),
         ("city map", "qgis"), ("cohorts", "analyst"), ("survey table", "analyst"),
         ("analyst", "weak cohorts")},
    ),
    (  # "X come in through P"; a count inside a name ("a 7 day forecast")
        "invoices come in through an imap reader, which outputs pdf files; prophet turns the pdf "
        "files into a 7 day forecast",
        {"invoices", "pdf files", "7 day forecast"}, {"imap reader", "prophet"},
        {("invoices", "imap reader"), ("imap reader", "pdf files"), ("pdf files", "prophet"),
         ("prophet", "7 day forecast")},
    ),
    (  # files are data, scripts processes, by their names; "a + b -> P -> c"
        "train.csv -> sklearn pipeline -> model.pkl; model.pkl + holdout.csv -> score.py -> "
        "preds.csv",
        {"train.csv", "model.pkl", "holdout.csv", "preds.csv"}, {"sklearn pipeline", "score.py"},
        {("train.csv", "sklearn pipeline"), ("sklearn pipeline", "model.pkl"),
         ("model.pkl", "score.py"), ("holdout.csv", "score.py"), ("score.py", "preds.csv")},
    ),
    (  # a bucket's "://" is no intro's colon and stays in the name
        "nightly job: s3://raw/clicks/ -> spark job -> s3://clean/clicks/",
        {"s3://raw/clicks/", "s3://clean/clicks/"}, {"spark job"},
        {("s3://raw/clicks/", "spark job"), ("spark job", "s3://clean/clicks/")},
    ),
    (  # "- P, which is trained on X and gives Y"; "X are stored in Z by P"
        "- a feature script turns events.parquet into a feature matrix\n- lightgbm, which is "
        "trained on the feature matrix and gives risk scores\n- the risk scores are stored in "
        "redis by a small api",
        {"events.parquet", "feature matrix", "risk scores", "redis"},
        {"feature script", "lightgbm", "small api"},
        {("events.parquet", "feature script"), ("feature script", "feature matrix"),
         ("feature matrix", "lightgbm"), ("lightgbm", "risk scores"),
         ("risk scores", "small api"), ("small api", "redis")},
    ),
    (  # "... in which X are aggregated by P into Y"; "X loaded by P into Z" ("are" unsaid)
        "Scoring system in which raw orders are aggregated by a spark job into daily totals, and "
        "daily totals loaded by a loader into the warehouse",
        {"raw orders", "daily totals", "warehouse"}, {"spark job", "loader"},
        {("raw orders", "spark job"), ("spark job", "daily totals"), ("daily totals", "loader"),
         ("loader", "warehouse")},
    ),
    (  # a path with a glob declared on its own line; a notebook is a process
        "- s3://logs/app/*.gz\n- a parser reads s3://logs/app/*.gz and writes events.parquet\n"
        "- events.parquet -> stats notebook -> report.html",
        {"s3://logs/app/*.gz", "events.parquet", "report.html"}, {"parser", "stats notebook"},
        {("s3://logs/app/*.gz", "parser"), ("parser", "events.parquet"),
         ("events.parquet", "stats notebook"), ("stats notebook", "report.html")},
    ),
    (  # "P -> writes Y": an arrow before a verb is no step
        "tools: * fetch.sh -> writes pages/ * parse.py reads pages/ and writes records.json",
        {"pages/", "records.json"}, {"fetch.sh", "parse.py"},
        {("fetch.sh", "pages/"), ("pages/", "parse.py"), ("parse.py", "records.json")},
    ),
]


@pytest.mark.parametrize(("text", "data", "processes", "edges"), MORE_CASES)
def test_more_data_flow_wordings(text: str, data: set, processes: set, edges: set) -> None:
    assert wiring(text) == (data, processes, edges)


def test_a_second_process_said_with_a_is_another_node() -> None:
    """The original project's bullets repeat "a python file" for different files."""
    found = dataflow(
        "process that contains: - a python file that reads a scan and outputs text - an llm "
        "reads the text and outputs a summary - a python file that prints the summary"
    )
    assert found is not None
    names, data, edges = found
    files = [i for i, n in enumerate(names) if n == "python file"]
    summary = names.index("summary")
    assert len(files) == 2 and (summary, files[1]) in edges and (summary, files[0]) not in edges


def test_an_arrow_before_a_bare_verb_leads_to_a_step() -> None:
    """"-> return audio" is the chain's last step; "-> writes pages.jsonl" says what the step
    before the arrow writes."""
    spec = extract_spec(
        "music app: user prompt → lyric filter → musicgen → mastering → watermark → return audio"
    )
    assert "return audio" in spec.steps and "watermark" in spec.steps
    names, data, edges = dataflow(
        "crawl.py -> writes pages.jsonl, dedup.py reads pages.jsonl and writes clean.jsonl"
    )
    crawl, pages = names.index("crawl.py"), names.index("pages.jsonl")
    assert (crawl, pages) in edges and "writes pages.jsonl" not in names


SENTENCE_AND_ARROW_CASES = [
    (  # the parts listed in one sentence after "consists of"; "is given X" is what P takes
        "The search app consists of a crawler that downloads web pages, an indexer that turns "
        "the web pages into an inverted index, and a ranker which is given the inverted index "
        "and a user query and returns results.",
        {"web pages", "inverted index", "user query", "results"}, {"crawler", "indexer", "ranker"},
        {("crawler", "web pages"), ("web pages", "indexer"), ("indexer", "inverted index"),
         ("inverted index", "ranker"), ("user query", "ranker"), ("ranker", "results")},
    ),
    (  # between two files, what acts on them is a process whatever its last word
        "raw.csv -> duckdb query -> report.csv -> plot script -> chart.png",
        {"raw.csv", "report.csv", "chart.png"}, {"duckdb query", "plot script"},
        {("raw.csv", "duckdb query"), ("duckdb query", "report.csv"),
         ("report.csv", "plot script"), ("plot script", "chart.png")},
    ),
    (  # three unknown words ending in a datum: datum -> process -> datum
        "ome-zarr -> stardist -> nuclei masks; nuclei masks -> tracker -> tracks",
        {"ome-zarr", "nuclei masks", "tracks"}, {"stardist", "tracker"},
        {("ome-zarr", "stardist"), ("stardist", "nuclei masks"), ("nuclei masks", "tracker"),
         ("tracker", "tracks")},
    ),
    (  # two processes side by side in a chain
        "frames -> face detector + plate detector -> detections",
        {"frames", "detections"}, {"face detector", "plate detector"},
        {("frames", "face detector"), ("frames", "plate detector"),
         ("face detector", "detections"), ("plate detector", "detections")},
    ),
    (  # an aside with a count in a chain is no network's size
        "prompt -> sdxl unet (30 steps) -> latents -> vae decoder -> picture.png",
        {"prompt", "latents", "picture.png"}, {"sdxl unet", "vae decoder"},
        {("prompt", "sdxl unet"), ("sdxl unet", "latents"), ("latents", "vae decoder"),
         ("vae decoder", "picture.png")},
    ),
    (  # "goes to A and also to B": to each
        "mic input is denoised by rnnoise into clean audio, the clean audio goes to a speaker "
        "model and also to a transcriber; the transcriber outputs words",
        {"mic input", "clean audio", "words"}, {"rnnoise", "speaker model", "transcriber"},
        {("mic input", "rnnoise"), ("rnnoise", "clean audio"), ("clean audio", "speaker model"),
         ("clean audio", "transcriber"), ("transcriber", "words")},
    ),
    (  # "them" after a file said alone; "pushes X (made before) to Q": X in, Q out
        "gs://raw/*.json ; a parser reads them into rows ; a loader pushes the rows to bigquery",
        {"gs://raw/*.json", "rows"}, {"parser", "loader", "bigquery"},
        {("gs://raw/*.json", "parser"), ("parser", "rows"), ("rows", "loader"),
         ("loader", "bigquery")},
    ),
    (  # "used by a trainer to update the tagger model": a loop back to the process
        "a tagger model reads the sentences and outputs tags; a reviewer turns the tags into "
        "fixed tags; the fixed tags are used by a trainer to update the tagger model",
        {"sentences", "tags", "fixed tags"}, {"tagger model", "reviewer", "trainer"},
        {("sentences", "tagger model"), ("tagger model", "tags"), ("tags", "reviewer"),
         ("reviewer", "fixed tags"), ("fixed tags", "trainer"), ("trainer", "tagger model")},
    ),
    (  # "failing test results ... for another try" are the test results, returned
        "a coder model writes a patch, a test runner runs the patch and reports test results, "
        "and failing test results are returned to the coder model for another try",
        {"patch", "test results"}, {"coder model", "test runner"},
        {("coder model", "patch"), ("patch", "test runner"), ("test runner", "test results"),
         ("test results", "coder model")},
    ),
    (  # a first sentence that says what the system is for; "based on X": X is what it uses
        "A recommendation system is used for our shop. Click logs are read by a spark job which "
        "writes user vectors. A ranker scores products based on the user vectors and returns a "
        "shortlist",
        {"click logs", "user vectors", "shortlist"}, {"spark job", "ranker"},
        {("click logs", "spark job"), ("spark job", "user vectors"), ("user vectors", "ranker"),
         ("ranker", "shortlist")},
    ),
]


@pytest.mark.parametrize(("text", "data", "processes", "edges"), SENTENCE_AND_ARROW_CASES)
def test_parts_in_a_sentence_and_arrow_chains(
    text: str, data: set, processes: set, edges: set
) -> None:
    assert wiring(text) == (data, processes, edges)


BULLET_CHAIN_CASES = [
    (  # a bullet that starts with a file and an arrow is a chain, not the file declared
        "• scan.tif -> deskewer -> pages\n• pages -> trocr -> lines\n"
        "• lines + scan.tif -> aligner -> layout",
        {"scan.tif", "pages", "lines", "layout"}, {"deskewer", "trocr", "aligner"},
        {("scan.tif", "deskewer"), ("deskewer", "pages"), ("pages", "trocr"), ("trocr", "lines"),
         ("lines", "aligner"), ("scan.tif", "aligner"), ("aligner", "layout")},
    ),
    (  # "tool -> table": the unknown end of a datum is what acts
        "1) fivetran -> raw.orders\n2) raw.orders -> dbt model -> mart.revenue",
        {"raw.orders", "mart.revenue"}, {"fivetran", "dbt model"},
        {("fivetran", "raw.orders"), ("raw.orders", "dbt model"), ("dbt model", "mart.revenue")},
    ),
    (  # two clauses with subjects, not "writes X, Q sends X" as the first's; X -> Q -> vendor
        "export.py reads the orders table and writes orders.csv.gz, upload.sh sends "
        "orders.csv.gz to the vendor",
        {"orders table", "orders.csv.gz"}, {"export.py", "upload.sh", "vendor"},
        {("orders table", "export.py"), ("export.py", "orders.csv.gz"),
         ("orders.csv.gz", "upload.sh"), ("upload.sh", "vendor")},
    ),
    (  # "the flacs" are the files declared on the line before
        "* recordings/*.flac\n* a featurizer extracts mel features from the flacs\n"
        "* a classifier maps the mel features to genres",
        {"recordings/*.flac", "mel features", "genres"}, {"featurizer", "classifier"},
        {("recordings/*.flac", "featurizer"), ("featurizer", "mel features"),
         ("mel features", "classifier"), ("classifier", "genres")},
    ),
]


@pytest.mark.parametrize(("text", "data", "processes", "edges"), BULLET_CHAIN_CASES)
def test_bullet_chains_and_files_referred_to(
    text: str, data: set, processes: set, edges: set
) -> None:
    assert wiring(text) == (data, processes, edges)


SOURCE_AND_OBJECT_CASES = [
    (  # a first process that only takes what others then take is the source of it
        "- a mqtt listener reads sensor events\n- a windowing job groups the sensor events into "
        "windows\n- an isolation forest scores the windows and outputs alerts",
        {"sensor events", "windows", "alerts"},
        {"mqtt listener", "windowing job", "isolation forest"},
        {("mqtt listener", "sensor events"), ("sensor events", "windowing job"),
         ("windowing job", "windows"), ("windows", "isolation forest"),
         ("isolation forest", "alerts")},
    ),
    (  # "P which fits X" is no "X trains P"; a name with "which" inside is a clause
        "kaggle house prices: train.csv is cleaned by a notebook into a clean frame, followed "
        "by xgboost which fits the clean frame and predicts prices for test.csv",
        {"train.csv", "clean frame", "test.csv", "prices"}, {"notebook", "xgboost"},
        {("train.csv", "notebook"), ("notebook", "clean frame"), ("clean frame", "xgboost"),
         ("test.csv", "xgboost"), ("xgboost", "prices")},
    ),
    (  # "pulls Y out of X": Y is made, X taken
        "- a pdf parser pulls the tables out of the annual reports\n- a metrics script turns the "
        "tables into kpis",
        {"annual reports", "tables", "kpis"}, {"pdf parser", "metrics script"},
        {("annual reports", "pdf parser"), ("pdf parser", "tables"), ("tables", "metrics script"),
         ("metrics script", "kpis")},
    ),
    (  # "averages X per product into Y": per product is how, not a name
        "a scraper collects reviews, bert turns the reviews into scores, and an aggregator "
        "averages the scores per product into ratings",
        {"reviews", "scores", "ratings"}, {"scraper", "bert", "aggregator"},
        {("scraper", "reviews"), ("reviews", "bert"), ("bert", "scores"),
         ("scores", "aggregator"), ("aggregator", "ratings")},
    ),
]


@pytest.mark.parametrize(("text", "data", "processes", "edges"), SOURCE_AND_OBJECT_CASES)
def test_sources_and_what_a_verb_takes(text: str, data: set, processes: set, edges: set) -> None:
    assert wiring(text) == (data, processes, edges)


def test_returns_as_an_object_a_next_subject_and_what_a_view_shows() -> None:
    """'turns returns into Y' takes the returns; ', a pandas script computes ...' starts a
    clause (it is no datum of the one before); 'grafana shows charts from prometheus' makes
    the charts from prometheus."""
    data, processes, edges = wiring(
        "an api client downloads prices, a pandas script computes returns from the prices, then "
        "a var model turns returns into volatility estimates"
    )
    assert processes == {"api client", "pandas script", "var model"}
    assert {("prices", "pandas script"), ("returns", "var model"),
            ("var model", "volatility estimates")} <= edges
    data, processes, edges = wiring(
        "metrics pipeline: a collector ships app metrics, followed by prometheus which stores "
        "the app metrics, and grafana shows charts from prometheus"
    )
    assert ("prometheus", "grafana") in edges and ("grafana", "charts") in edges


def test_two_verbs_run_on_and_read_by_two() -> None:
    """'filters and counts X into Y' makes Y; 'P, which is run on X' takes X; 'X is read by A,
    which ..., and by B, which ...' goes to both."""
    data, processes, edges = wiring(
        "- an aligner maps the fastq files into bam files\n- featurecounts, which filters and "
        "counts the bam files into a count table\n- pca, which is run on the count table and "
        "gives a sample plot"
    )
    assert {("bam files", "featurecounts"), ("featurecounts", "count table"),
            ("count table", "pca"), ("pca", "sample plot")} <= edges
    data, processes, edges = wiring(
        "the depth map is read by a planner, which outputs waypoints, and by an obstacle head, "
        "which outputs an obstacle mask"
    )
    assert edges == {("depth map", "planner"), ("planner", "waypoints"),
                     ("depth map", "obstacle head"), ("obstacle head", "obstacle mask")}


def test_an_aside_that_says_what_a_step_also_takes_and_a_fork_with_products() -> None:
    """'retriever (it searches the wiki index)' takes the index too; 'X go to A producing Y
    and to B producing Z': X goes to both (not Y to B)."""
    chain = "query -> retriever (it searches the wiki index) -> passages -> llm -> answer"
    assert wiring(chain) == (
        {"query", "wiki index", "passages", "answer"}, {"retriever", "llm"},
        {("query", "retriever"), ("wiki index", "retriever"), ("retriever", "passages"),
         ("passages", "llm"), ("llm", "answer")},
    )
    data, processes, edges = wiring(
        "video clips go to a tagger producing tags and to a captioner producing captions; a "
        "report script reads the tags and the captions"
    )
    assert {("video clips", "tagger"), ("video clips", "captioner"), ("tagger", "tags"),
            ("captioner", "captions")} <= edges and ("tags", "captioner") not in edges


PLAIN_SPEECH_CASES = [
    (  # a plural subject with a bare verb ("cameras send"), as the flow's first part
        "1. edge cameras send jpeg frames\n2. a gateway takes the jpeg frames and gives a frame "
        "stream\n3. a detector reads the frame stream and writes events",
        {("edge cameras", "jpeg frames"), ("jpeg frames", "gateway"), ("gateway", "frame stream"),
         ("frame stream", "detector"), ("detector", "events")},
    ),
    (  # "topics into a dashboard": the verb unsaid
        "- a scraper -> gives forum posts\n- forum posts go into a topic model -> gives topics\n"
        "- topics into a dashboard",
        {("scraper", "forum posts"), ("forum posts", "topic model"), ("topic model", "topics"),
         ("topics", "dashboard")},
    ),
    (  # "maps from 2019 and 2023": years are no data
        "- a crop classifier labels the field images and outputs crop maps\n- a diff script "
        "compares crop maps from 2019 and 2023 and gives a change report",
        {("field images", "crop classifier"), ("crop classifier", "crop maps"),
         ("crop maps", "diff script"), ("diff script", "change report")},
    ),
    (  # a source found after a later datum's maker is found ("gives a csv export")
        "the analyst uploads a workbook, a converter reads the workbook and gives a csv export, "
        "and a loader reads the csv export and writes a warehouse table",
        {("analyst", "workbook"), ("workbook", "converter"), ("converter", "csv export"),
         ("csv export", "loader"), ("loader", "warehouse table")},
    ),
]


@pytest.mark.parametrize(("text", "edges"), PLAIN_SPEECH_CASES)
def test_plain_speech_data_flows(text: str, edges: set) -> None:
    assert wiring(text)[2] == edges


def test_a_verb_said_is_no_unsaid_into() -> None:
    """'input splits into a conv branch ...' is a fork, not a datum 'input splits'."""
    found = dataflow("two branch net: input splits into a conv branch and a transformer branch")
    assert found is None or "input splits" not in found[0]


RELATIVE_CASES = [
    (  # "graded by P against X": X goes in too
        "an eval harness in which the test prompts are answered by the candidate model, the "
        "answers are graded by a grader llm against reference answers, and the grades are summed "
        "by a script into a report card",
        {("test prompts", "candidate model"), ("candidate model", "answers"),
         ("answers", "grader llm"), ("reference answers", "grader llm"),
         ("grader llm", "grades"), ("grades", "script"), ("script", "report card")},
    ),
    (  # "Y that are shown in P": P shows them
        "a ranker scores the listings and outputs prices and ranks that are shown in a dashboard",
        {("listings", "ranker"), ("ranker", "prices"), ("ranker", "ranks"),
         ("prices", "dashboard"), ("ranks", "dashboard")},
    ),
    (  # "collects votes on the replies"; "a board that the votes are shown on"
        "- a chat api gives replies\n- a survey widget that collects votes on the replies\n"
        "- a grafana board that the votes are shown on",
        {("chat api", "replies"), ("replies", "survey widget"), ("survey widget", "votes"),
         ("votes", "grafana board")},
    ),
    (  # "a chemist, who picks the hits": who is the chemist
        "a screening step: a filter turns the library into leads, which are ranked by a chemist, "
        "who picks the hits",
        {("library", "filter"), ("filter", "leads"), ("leads", "chemist"), ("chemist", "hits")},
    ),
]


@pytest.mark.parametrize(("text", "edges"), RELATIVE_CASES)
def test_relative_clauses_and_what_is_shown(text: str, edges: set) -> None:
    assert wiring(text)[2] == edges
