"""The ethics-committee pack: the whole script in every language, its rules in words, the flow as a picture,
and what the bot does after each kind of answer, measured by running it.

Built from the same dialog file and the same `transitions` machine the bot runs, so the
committee approves what people will actually see.
"""
