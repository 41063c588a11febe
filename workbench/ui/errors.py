"""A user's error on the page: a message, not a stack trace.

The engine refuses what it cannot do with an exception that says why and what to do instead — bad settings and
data (ValueError, DataError), a run that is not there (RunNotFound, FileNotFoundError), a second run while one
trains (RuntimeError from the JobManager). The page shows that sentence: as an error where the action cannot
go on (`shows_user_errors`), or as a warning beside the control where the section stays usable (`warning`).
"""

import functools

import gradio as gr

USER_ERRORS = (ValueError, FileNotFoundError, RuntimeError)  # DataError and RunNotFound are ValueErrors


def shows_user_errors(handler):
    """`handler`, with a user's error raised as the page's error message (Gradio's signature-reading intact)."""
    @functools.wraps(handler)
    def shown(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except USER_ERRORS as error:
            raise gr.Error(str(error)) from error
    return shown


def warning(error: Exception) -> str:
    """Show `error` as a warning and return it as a line for the section's message box."""
    gr.Warning(str(error))
    return f"⚠️ {error}"
