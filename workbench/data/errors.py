"""The one error the data package raises, and names made safe to show."""


class DataError(ValueError):
    """A data set could not be loaded; the message says why and what to do."""


def shown(name) -> str:
    """A file name or message as a person can read it. On Linux a name is bytes, and one that is not UTF-8
    comes into Python with stand-ins for the odd bytes that would crash a print: they become "�"."""
    text = str(name)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a lone surrogate that no file name could have made
        return text.encode("utf-8", "replace").decode("utf-8")
