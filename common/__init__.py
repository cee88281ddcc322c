"""What the bot and the engine share without importing each other: `.env` files, keeping
secrets out of the logs, and the request limits both enforce. Standard library only."""
