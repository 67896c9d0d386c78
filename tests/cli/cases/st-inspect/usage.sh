st-inspect --diff onlyone
