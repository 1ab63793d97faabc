

*no ids