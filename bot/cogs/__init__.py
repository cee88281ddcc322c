"""One cog per feature: /diagram, reaction ratings, admin commands."""
