"""Placement: where steps declared with candidate infrastructures (`infrastructure: [a, b]`) run.

Each candidate's completion time is predicted in parts (queue wait, cloud boot, data transfer,
run time, with the inputs behind each in words) and one is chosen: the soonest (`placement:
auto`), the first (`placement: first`), or the one the MSO_PLACEMENT variable names. The choice
and its predictions are kept in run.json (`RunRecord.placement`, one entry per list of
candidates).

    predict.py   each candidate's predicted wait, boot, transfer and run time
    choose.py    the choice among them, by the experiment's placement mode
    history.py   what earlier runs took, for the predictions
    words.py     a choice in one line (`line`), and what happened on the chosen one (`actual`)
"""
