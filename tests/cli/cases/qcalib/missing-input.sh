qcalib -f int8 nowhere.safetensors -o w.qp; rc=$?
[ -e w.qp ] && echo "output left behind"
exit $rc
