# the figures do not depend on -j: chunks are merged in order
mkmodel --hidden 512 --heads 8 --kv-heads 2 --vocab 1000 --layers 1 -o m
st-inspect --stats -j 1 m >j1
st-inspect --stats -j 4 m >j4
cmp j1 j4 && echo same
grep -c '^model.embed_tokens.weight  *F32  *512000 ' j1
