qcalib --help
