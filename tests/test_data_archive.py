"""Zips uploaded in the page are unpacked safely, typed paths are read only inside the allowed roots, and the
page's command line says when it is reachable from the network."""

import stat
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from workbench.cli.common import Parser
from workbench.cli.serve import add_serve_arguments, serve_options
from workbench.data import DataError, load_dataset
from workbench.data.archive import unpack_zip
from workbench.data.roots import allowed_spec, check_allowed


def _png_bytes(colour) -> bytes:
    from io import BytesIO

    out = BytesIO()
    Image.new("RGB", (12, 12), colour).save(out, "PNG")
    return out.getvalue()


def _zip(path: Path, entries: dict[str, bytes], links: dict[str, str] = {}) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name, target in links.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def test_a_zip_with_one_top_folder_unpacks_to_that_folder_and_loads(tmp_path):
    entries = {f"pets/{c}/{i}.png": _png_bytes(c) for c in ("red", "blue") for i in range(3)}
    entries["__MACOSX/pets/._0.png"] = b"\x00\x05\x16\x07"
    folder = unpack_zip(_zip(tmp_path / "pets.zip", entries), tmp_path / "upload")
    assert folder == (tmp_path / "upload" / "pets").resolve()
    assert not (tmp_path / "upload" / "__MACOSX").exists()
    assert load_dataset(str(folder)).class_names == ["blue", "red"]


@pytest.mark.parametrize("entries, links, message", [
    ({"../evil.png": b"x"}, {}, "'../evil.png' would land outside"),
    ({"pets/../../evil.png": b"x"}, {}, "'pets/../../evil.png' would land outside"),
    ({"/tmp/evil.png": b"x"}, {}, "'/tmp/evil.png' would land outside"),
    ({"pets/a.png": b"x"}, {"pets/link.png": "/etc/passwd"}, "'pets/link.png' is a symbolic link"),
    ({"pets/zeros.png": bytes(20 * 1024**2)}, {}, "'pets/zeros.png' unpacks .* times larger .*zip bomb"),
])
def test_a_zip_that_escapes_holds_links_or_bombs_is_refused_before_writing(tmp_path, entries, links, message):
    archive = _zip(tmp_path / "bad.zip", entries, links)
    with pytest.raises(DataError, match=message):
        unpack_zip(archive, tmp_path / "upload")
    assert not (tmp_path / "upload").exists() and not (tmp_path / "evil.png").exists()


def test_a_zip_over_the_count_or_size_caps_is_refused(tmp_path):
    archive = _zip(tmp_path / "many.zip", {f"{i}.png": _png_bytes("red") for i in range(5)})
    with pytest.raises(DataError, match="holds 5 entries, more than the 4 allowed"):
        unpack_zip(archive, tmp_path / "a", max_files=4)
    with pytest.raises(DataError, match="more than the 100 allowed"):
        unpack_zip(archive, tmp_path / "b", max_bytes=100)
    (tmp_path / "junk.zip").write_bytes(b"PK not really")
    with pytest.raises(DataError, match="junk.zip is not a readable zip file"):
        unpack_zip(tmp_path / "junk.zip", tmp_path / "c")


def test_paths_outside_the_data_roots_are_refused(tmp_path):
    allowed, other = tmp_path / "allowed", tmp_path / "other"
    (allowed / "photos").mkdir(parents=True)
    other.mkdir()
    (allowed / "sneaky").symlink_to(other)
    assert check_allowed(allowed / "photos", [allowed]) == (allowed / "photos").resolve()
    for path in (other, allowed / "sneaky", allowed / "photos" / ".." / ".." / "other"):
        with pytest.raises(DataError, match=r"is outside the folders this app may read: .*allowed; start it with "
                                            "--data-root"):
            check_allowed(path, [allowed])
    assert allowed_spec("Shapes", [allowed], ["shapes", "digits"]) == "shapes"
    assert allowed_spec(f"cifar10:{allowed}", [allowed], ["shapes"]) == f"cifar10:{allowed.resolve()}"
    with pytest.raises(DataError, match="outside"):
        allowed_spec(f"cifar10:{other}", [allowed], ["shapes"])


def _serve_args(*argv):
    parser = Parser(prog="launch.py")
    add_serve_arguments(parser)
    return parser.parse_args(argv)


def test_serve_options_default_to_this_machine_and_the_working_and_home_folders(capsys):
    options = serve_options(_serve_args())
    assert options == {"host": "127.0.0.1", "port": 7860, "runs_root": "runs",
                       "data_roots": [Path.cwd(), Path.home()], "auth": None}
    assert capsys.readouterr().err == ""


def test_serving_to_the_network_warns_and_takes_auth_and_roots(tmp_path, capsys):
    options = serve_options(_serve_args("--host", "0.0.0.0", "--data-root", str(tmp_path), "--data-root", "~"))
    assert options["data_roots"] == [tmp_path.resolve(), Path.home().resolve()]
    warning = capsys.readouterr().err
    assert "listens on 0.0.0.0: it is reachable from the network" in warning
    assert "protect it with --auth USER:PASSWORD" in warning
    options = serve_options(_serve_args("--host", "0.0.0.0", "--auth", "teacher:s3cret:x"))
    assert options["auth"] == ("teacher", "s3cret:x")
    assert "once they give the --auth password" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _serve_args("--auth", "no-password")
    assert "--auth takes USER:PASSWORD" in capsys.readouterr().err
