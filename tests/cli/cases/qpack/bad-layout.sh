qpack --layout exl2 m -o out
