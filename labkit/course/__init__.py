"""What instructors and scripts run: the ``labkit`` command line and the stages behind it.

Install with the ``course`` extra (``pip install labkit[course]``): papermill, nbclient, nbconvert
and nbgrader. One module per stage, as papermill is laid out:

- ``cli``: parses the command line and prints; decides nothing.
- ``catalog``: finds the lessons and reads their papermill parameters.
- ``runs``: one notebook in a child process, with a time limit, a kill and the child kernel's environment.
- ``executor``: runs many jobs at once on this machine or a Dask cluster.
- ``jobs``: the jobs a job process runs, by name.
- ``forkserver``: starts each job as a fresh process forked from one that has imported the tools.
- ``sweep``: one lesson over a grid of parameters.
- ``report``: tables, figures and HTML of what ran.
- ``release``: nbgrader's format, and student versions made with nbgrader's preprocessors.
- ``lms``: Canvas and Moodle downloads in, their grade and feedback imports out.
- ``grade``: scores submissions against the instructor's notebook.
- ``check``: a student's notebook checked before it is handed in, as grading would.
- ``feedback``: the graded notebook a student reads.

Nothing in ``labkit`` (the core) or ``labkit.lessons`` imports this package.
"""
