st-inspect --help | head -1
st-inspect --version | grep -c qutils
