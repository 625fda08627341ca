"""commit, image history, image prune, tag and untag as the command line
(cli/commands/images.py), on roots of this module's own (prune must not take other modules'
images)."""

from __future__ import annotations

import json
import subprocess

from tests.cli.conftest import FULL_ID, IMAGE, Cli


def test_commit_history_inspect_and_run(cli: Cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cli.ok("run", "--name", "src", IMAGE, "sh", "-c",
           "echo made > /made; rm /etc/group; head -c 200000 /dev/zero > /zeros")
    iid = tmp_path / "iid"
    out = cli.ok("commit", "-m", "lab step 1", "-a", "Ada", "-c", "ENV STEP=1",
                 "-c", 'CMD ["sh", "-c", "cat /made; echo $STEP; ls /etc"]', "--iidfile",
                 str(iid), "src", "localhost/lab/step1")
    image_id = out.strip()
    assert FULL_ID.match(image_id) and iid.read_text() == f"sha256:{image_id}"
    run = cli.ok("run", "--rm", "localhost/lab/step1").split()
    assert run[:2] == ["made", "1"] and "group" not in run and "passwd" in run
    lines = cli.ok("image", "history", "localhost/lab/step1").splitlines()
    assert lines[0].split() == ["ID", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert lines[1].startswith(image_id[:12]) and lines[1].rstrip().endswith("lab step 1")
    assert "200 kB" in lines[1]
    assert lines[2].startswith("<missing>") and len(lines) == 3
    ids = cli.ok("image", "history", "--no-trunc", "--format", "{{.ID}}",
                 "localhost/lab/step1").split()
    assert ids == [image_id, "<missing>"]
    info = json.loads(cli.ok("image", "inspect", "localhost/lab/step1"))[0]
    assert (info["Comment"], info["Author"]) == ("lab step 1", "Ada")
    assert len(info["RootFS"]["Layers"]) == 2 and len(info["History"]) == 2
    assert "STEP=1" in info["Config"]["Env"]
    sizes = {line.split()[0]: line for line in cli.ok("images").splitlines()[1:]}
    assert "2.18 MB" in sizes["localhost/lab/step1"]  # busybox's 1.98 MB + 200 kB, once each
    bad = cli("commit", "-c", "RUN make", "src", "localhost/lab/bad")
    assert bad.returncode == 125 and "invalid change" in bad.stderr and "RUN" in bad.stderr
    assert cli("container", "commit", "-q", "--pause=false", "src",
               "localhost/lab/step1b").returncode == 0
    cli.ok("rm", "src")
    cli.ok("rmi", "localhost/lab/step1", "localhost/lab/step1b")


def test_prune_asks_then_removes_dangling_images(cli: Cli) -> None:
    cli.ok("create", "--name", "holder", IMAGE, "sh", "-c", "echo")
    dangling = cli.ok("commit", "holder").strip()
    assert f"{dangling[:12]}" in cli.ok("images")
    no = subprocess.run(cli.argv("image", "prune"), input="n\n", capture_output=True,
                        text=True, env=cli.env)
    assert no.returncode == 0 and "Are you sure you want to continue? [y/N]" in no.stdout
    assert dangling[:12] in cli.ok("images", "-q")
    eof = subprocess.run(cli.argv("image", "prune"), input="", capture_output=True,
                         text=True, env=cli.env)
    assert eof.returncode == 125 and "-f" in eof.stderr
    yes = subprocess.run(cli.argv("image", "prune"), input="y\n", capture_output=True,
                         text=True, env=cli.env)
    assert yes.returncode == 0 and yes.stdout.split()[-1] == dangling
    assert dangling[:12] not in cli.ok("images", "-q")
    # -a: every image no container uses; the demo image is the holder's
    other = cli.ok("commit", "holder", "localhost/lab/unused").strip()
    assert other in cli.ok("image", "prune", "-a", "-f").split()
    assert cli.ok("images", "--format", "{{.Repository}}").split() == ["localhost/busybox"]


def test_tag_and_untag(cli: Cli) -> None:
    """podman's tag/untag: no output; untag without names removes them all, the image stays;
    an unknown image, a bad name or a name the image lacks: exit 125, "Error: ..."."""
    assert cli.ok("tag", IMAGE, "localhost/lab/one", "lab/two:2") == ""
    assert cli.ok("image", "tag", IMAGE, "quay.io/lab/three") == ""
    names = cli.ok("images", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert {"localhost/lab/one:latest", "localhost/lab/two:2",
            "quay.io/lab/three:latest"} <= set(names)
    assert cli.ok("untag", IMAGE, "localhost/lab/one", "lab/two:2") == ""
    assert cli.ok("image", "untag", "quay.io/lab/three:latest", "quay.io/lab/three") == ""
    assert cli.ok("images", "--format", "{{.Repository}}:{{.Tag}}").split() == [
        "localhost/busybox:latest"]
    cli.ok("create", "--name", "tagsrc", IMAGE, "true")
    image_id = cli.ok("commit", "tagsrc", "localhost/lab/four").strip()
    cli.ok("tag", "localhost/lab/four", "localhost/lab/five")
    assert cli.ok("untag", "localhost/lab/four") == ""  # every name
    row = [line for line in cli.ok("images").splitlines() if image_id[:12] in line]
    assert len(row) == 1 and row[0].split()[:2] == ["<none>", "<none>"]
    unknown = cli("tag", "localhost/lab/nosuch", "localhost/lab/x")
    assert unknown.returncode == 125 and unknown.stdout == ""
    assert unknown.stderr.startswith("Error: ") and "image not known" in unknown.stderr
    bad = cli("tag", IMAGE, "Bad Name")
    assert bad.returncode == 125 and bad.stderr.startswith("Error: invalid image reference")
    lacking = cli("untag", IMAGE, "localhost/lab/one")
    assert lacking.returncode == 125 and "tag not known" in lacking.stderr
    assert cli("untag", "localhost/lab/nosuch").returncode == 125
    cli.ok("rm", "tagsrc")
    cli.ok("rmi", image_id)
