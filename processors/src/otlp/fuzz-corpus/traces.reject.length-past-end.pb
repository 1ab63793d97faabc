
*chatJ
k
v