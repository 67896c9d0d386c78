qdq-insert --help
