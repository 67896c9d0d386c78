# a qparams file that is not one: clear error, no output folder
"$CASES/../../../scripts/gen-st-model.py" m --layers 1 || exit 1
qpack -p m/model.safetensors --layout awq m -o out; rc=$?
[ -e out ] && echo "output left behind"
exit $rc
