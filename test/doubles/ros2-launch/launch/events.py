"""Stand-in for launch.events.Shutdown (see __init__.py)."""


class Shutdown:
    def __init__(self, *, reason='reason not given', due_to_sigint=False):
        self.reason = reason
        self.due_to_sigint = due_to_sigint
