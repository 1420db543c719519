"""The chain engine: the relayer, the indexer, automation and webhook delivery, run by workers."""
