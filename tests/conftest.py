import os
import socket

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def port() -> int:
    """A free port of 127.0.0.1 (tests/tasks has a conftest of its own: `from conftest import` is ambiguous)."""
    return free_port()


@pytest.fixture(scope="session", autouse=True)
def decoded_images_cache(tmp_path_factory):
    """Decoded folders are cached in a temp folder, not in the home folder of whoever runs the tests (and the
    subprocesses the tests start inherit it)."""
    os.environ["SSL_WORKBENCH_CACHE"] = str(tmp_path_factory.mktemp("decoded-cache"))


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """The real app, launched on a free port of 127.0.0.1, with its runs and Gradio's cache in a temp folder."""
    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    from workbench.ui.app import serve

    port = free_port()
    demo = serve(port=port, runs_root=tmp_path_factory.mktemp("runs"), block=False,
                 data_roots=[tmp_path_factory.getbasetemp()])  # the tests' folders, and no others
    yield f"http://127.0.0.1:{port}/"
    demo.close()
