"$CASES/../../../scripts/gen-st-model.py" m --hidden 64 --inter 96 --layers 1 || exit 1
# no -o: the report alone
qcalib -m percentile --percentile 99 -f int8 --report m
