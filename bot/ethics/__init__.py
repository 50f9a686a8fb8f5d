"""The ethics-committee pack: the whole script in every language, its rules in words, and the flow as a picture.

Built from the same dialog file and the same `transitions` machine the bot runs, so the
committee approves what people will actually see.
"""
