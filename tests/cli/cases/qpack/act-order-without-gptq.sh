qpack --act-order m -o out
