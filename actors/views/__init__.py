"""What the front-ends show, shared: the CLI and the web viewer both draw on these views.

:mod:`actors.views.events` says what one event says in one line, :mod:`actors.views.runs`
sums a run up for a runs list (``agentlog ls``, the viewer's index) and
:mod:`actors.views.stats` gives one step's figures as data and :mod:`actors.views.compare`
two runs side by side (``agentlog diff RUN_A RUN_B``). Views are plain data and text,
with no terminal and no web in them: neither front-end imports the other.
Nothing is imported here, so a command pays only for the view it uses.
"""
