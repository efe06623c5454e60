"""placeholder"""
def add(sub):
    pass
