qpack --help
