# an imatrix file that is neither GGUF nor a sane .dat
python3 "$CASES/st2gguf/mkgguf.py" in.gguf
printf "\377\377\377\177garbage" > bad.dat
st2gguf -t Q4_K_M --imatrix bad.dat in.gguf -o out.gguf
rc=$?
test -e out.gguf && echo "output left behind"
exit $rc
