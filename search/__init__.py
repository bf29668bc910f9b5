"""Search: Chinese, pinyin and typo-tolerant product and workshop search (embedded engine or Meilisearch)."""
