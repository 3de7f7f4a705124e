def write_answer_key(sc):
    pass
