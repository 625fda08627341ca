"""%ctr and %%ctr through IPython's own machinery in this process (run_line_magic,
run_cell_magic) against real containers: verbs, results, errors, $var/{expr} expansion."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_ctr import kernel
from jupyter_ctr.engine import ContainerState, NoSuchContainerError, Runtime
from jupyter_ctr.magics import (
    ContainerTable,
    CtrMagicError,
    ImageTable,
    Names,
    RunResult,
    StatsTable,
    TopTable,
    registered,
)
from tests.conftest import wait_until
from tests.magics.conftest import IMAGE


def test_load_ext_registers_line_and_cell_magic(ip: InteractiveShell) -> None:
    magics = ip.magics_manager.lsmagic()
    assert "ctr" in magics["line"] and "ctr" in magics["cell"]
    ip.run_line_magic("load_ext", "jupyter_ctr")  # twice: one registration
    assert ip.configurables.count(registered(ip)) == 1


def test_run_rm_streams_and_returns_result(ip: InteractiveShell, rt: Runtime,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    res = ip.run_line_magic("ctr", f"run --rm {IMAGE} sh -c 'echo out; echo err >&2; exit 7'")
    out, err = capsys.readouterr()
    assert (out, err) == ("out\n", "err\n")
    assert isinstance(res, RunResult)
    assert (res.exit_code, res.stdout, res.stderr, res.removed) == (7, "out\n", "err\n", True)
    assert not res.ok and res.duration > 0
    assert rt.list_containers(all=True) == []


def test_cell_body_runs_as_script_with_shell_and_out(ip: InteractiveShell, rt: Runtime,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    body = "x=\"quoted 'text' $HOME\"\necho \"$x\"\nfor i in 1 2 3; do printf '%s,' $i; done\n"
    res = ip.run_cell_magic("ctr", f"run --rm -e HOME=/h {IMAGE} --out r1", body)
    assert capsys.readouterr().out == "quoted 'text' /h\n1,2,3,"
    assert ip.user_ns["r1"] is res and res.exit_code == 0
    # another interpreter, and a large body (far past an argv string's 128 KiB limit)
    big = "".join(f"echo line{i}\n" for i in range(20000))
    res = ip.run_cell_magic("ctr", f"run --rm --shell 'sh -e' {IMAGE}",
                            big + "false\necho never\n")
    out = capsys.readouterr().out
    assert res.exit_code == 1 and "never" not in out
    assert res.stdout.startswith("line0\n") and "line19999\n" in res.stdout


def test_check_raises_one_line_error(ip: InteractiveShell,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CtrMagicError, match="exited with code 3") as info:
        ip.run_cell_magic("ctr", f"run --rm --check {IMAGE} --out r2", "exit 3")
    assert info.value.result is ip.user_ns["r2"]
    assert ip.run_cell_magic("ctr", f"run --rm {IMAGE} --check", "true").exit_code == 0
    # through run_cell, IPython shows it as one line, no traceback
    ip.run_cell(f"%ctr run --rm --check {IMAGE} sh -c 'exit 5'")
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and out.startswith("CtrMagicError: ") and err == ""
    assert "exited with code 5" in out


def test_detached_container_verbs_and_listings(ip: InteractiveShell, rt: Runtime) -> None:
    names = ip.run_line_magic("ctr", f"run -d --name mweb --memory 64m {IMAGE} sleep 1000")
    assert isinstance(names, Names) and list(names) == ["mweb"] and len(names.ids[0]) == 64
    ps = ip.run_line_magic("ctr", "ps")
    assert isinstance(ps, ContainerTable)
    assert [s.name for s in ps] == ["mweb"] and ps[0].status == "running"
    assert "mweb" in repr(ps) and "jctr-running" in ps._repr_html_()
    top = ip.run_line_magic("ctr", "top mweb")
    assert isinstance(top, TopTable) and top[0]["COMMAND"] == "sleep 1000"
    stats = ip.run_line_magic("ctr", "stats mweb")
    assert isinstance(stats, StatsTable) and stats[0]["memory_limit"] == 64 << 20
    images = ip.run_line_magic("ctr", "images")
    assert isinstance(images, ImageTable) and "localhost/busybox" in repr(images)
    assert ip.run_line_magic("ctr", "inspect mweb")["State"]["Status"] == "running"
    assert ip.run_line_magic("ctr", "pause mweb") == ["mweb"]
    assert rt.lookup_container("mweb").state is ContainerState.PAUSED
    assert "jctr-paused" in ip.run_line_magic("ctr", "ps")._repr_html_()
    assert ip.run_line_magic("ctr", "unpause mweb") == ["mweb"]
    res = ip.run_cell_magic("ctr", "exec mweb", "echo in $(hostname)\nexit 2\n")
    assert (res.kind, res.exit_code, res.stdout) == ("exec", 2, f"in {names.ids[0][:12]}\n")
    assert ip.run_line_magic("ctr", "exec mweb id -u").stdout == "0\n"
    assert ip.run_line_magic("ctr", "stop -t 0 mweb") == ["mweb"]
    assert ip.run_line_magic("ctr", "ps -a -q") == [names.ids[0][:12]]
    assert ip.run_line_magic("ctr", "rm mweb") == ["mweb"]
    with pytest.raises(NoSuchContainerError):
        rt.lookup_container("mweb")


def test_checkpoint_and_restore(ip: InteractiveShell, rt: Runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ip.run_line_magic("ctr", f"run -d --name mck {IMAGE} sh -c 'i=0; while true; do "
                             "i=$((i+1)); echo $i; sleep 0.1; done'")
    archive = tmp_path / "mck.tar.gz"
    assert ip.run_line_magic("ctr", f"checkpoint --export {archive} mck") == ["mck"]
    assert archive.exists() and rt.lookup_container("mck").state is ContainerState.EXITED
    assert ip.run_line_magic("ctr", "restore mck") == ["mck"]
    assert rt.lookup_container("mck").state is ContainerState.RUNNING
    copy = ip.run_line_magic("ctr", f"restore --import {archive} --name mck2")
    assert list(copy) == ["mck2"]
    stats = ip.run_line_magic("ctr", "checkpoint --leave-running --print-stats mck2")
    assert isinstance(stats, list) and stats[0]["Id"] == copy.ids[0]
    assert rt.lookup_container("mck2").state is ContainerState.RUNNING


def test_var_and_expr_expansion(ip: InteractiveShell) -> None:
    ip.user_ns["word"] = "hello there"
    ip.user_ns["n"] = 20
    res = ip.run_line_magic("ctr", f"run --rm {IMAGE} echo $word {{n + 1}}")
    assert res.stdout == "hello there 21\n"
    ip.run_cell("r3 = %ctr run --rm " + IMAGE + " echo {n * 2}")
    assert ip.user_ns["r3"].stdout == "40\n"
    # the cell magic's line is expanded too (its body is not: it is the script)
    ip.run_cell(f"%%ctr run --rm {IMAGE} --out r4\necho $word {{n}}\n")
    assert ip.user_ns["r4"].stdout == "{n}\n"  # $word is unset in the container
    ip.run_cell(f"%%ctr run --rm -e W=$n {IMAGE} --out r5\necho $W\n")
    assert ip.user_ns["r5"].stdout == "20\n"


@pytest.mark.parametrize(("line", "message"), [
    ("frobnicate x", "unknown verb 'frobnicate': use one of run, create, ps"),
    ("", "a verb is needed: one of run, create"),
    ("run --frobnicate " + IMAGE, "unrecognized arguments: --frobnicate"),
    ("stop", "the following arguments are required: CONTAINER"),
    ("stop nosuch-ctr", "no container with name or ID 'nosuch-ctr' found"),
    ("run --rm nosuch-image", "nosuch-image: image not known"),
    ("run --rm --memory lots " + IMAGE, "invalid memory"),
    ("logs 'unbalanced", "cannot split the command line"),
    ("kill -s SIGFOO x", "SIGFOO"),
    ("run --out 1x --rm " + IMAGE + " true", "--out needs a variable name"),
])
def test_bad_input_is_one_line(ip: InteractiveShell, capsys: pytest.CaptureFixture[str],
                               line: str, message: str) -> None:
    result = ip.run_cell(f"%ctr {line}")
    out, err = capsys.readouterr()
    assert result.success and result.result is None
    assert out == "" and err.count("\n") == 1 and err.startswith("Error: "), err
    assert message in err, err


def test_cell_magic_takes_run_and_exec_only(ip: InteractiveShell,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell("%%ctr ps\necho hi\n")
    assert capsys.readouterr().err == ("Error: %%ctr takes run or exec (the cell body is their "
                                       "script); other verbs go with %ctr\n")
    ip.run_cell(f"%%ctr run {IMAGE} echo\necho hi\n")
    err = capsys.readouterr().err
    assert err.startswith("Error: unexpected 'echo' after IMAGE") and err.count("\n") == 1


def test_help_is_the_cli_help(ip: InteractiveShell,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert ip.run_line_magic("ctr", "run --help") is None
    out = capsys.readouterr().out
    assert out.startswith("usage: jupyter-ctr run [options] IMAGE")
    assert "--memory" in out and "--check" in out and "--shell" in out


def test_logs_and_events(ip: InteractiveShell, rt: Runtime,
                         capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("ctr", f"run -d --name mlog {IMAGE} sh -c 'echo a; echo b >&2; "
                             "sleep 0.3; echo c'")
    assert wait_until(lambda: rt.lookup_container("mlog").state is ContainerState.EXITED)
    capsys.readouterr()
    assert ip.run_line_magic("ctr", "logs mlog") is None
    assert capsys.readouterr() == ("a\nc\n", "b\n")
    ip.run_line_magic("ctr", "logs --tail 1 mlog")
    assert capsys.readouterr().out == "c\n"
    ip.run_line_magic("ctr", "logs -f mlog")  # it has exited: follow ends
    assert capsys.readouterr().out == "a\nc\n"
    events = ip.run_line_magic("ctr", "events --since 1m --no-stream --filter container=mlog")
    assert [e.action for e in events][:2] == ["create", "start"]
    until = ip.run_line_magic("ctr", "events --since 1m --until 0s -f container=mlog")
    assert [e.action for e in until] == [e.action for e in events]


def test_cli_commands_without_their_own_verb_print(ip: InteractiveShell, rt: Runtime,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("ctr", f"create --name mcr {IMAGE} true")
    capsys.readouterr()
    # Go templates as in the CLI, although IPython's expansion makes {{ }} into { }; the
    # doubled IPython spelling works too
    ip.run_cell("%ctr ps -a --format '{{.Names}} {{.State}}'")
    assert capsys.readouterr().out == "mcr created\n"
    ip.run_cell("%ctr inspect -f '{{{{.State.Status}}}}' mcr")
    assert capsys.readouterr().out == "created\n"
    ip.run_line_magic("ctr", "image ls --format '{{.Repository}}'")  # not expanded
    assert "localhost/busybox" in capsys.readouterr().out
    ip.run_line_magic("ctr", "service --socket /tmp/x.sock")
    assert capsys.readouterr().err.startswith("Error: unknown verb 'service'")  # it never ends
    ip.run_line_magic("ctr", "export mcr")
    assert capsys.readouterr().err == "Error: export in a notebook needs -o FILE\n"


def test_root_options_select_another_engine(ip: InteractiveShell, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root, run = tmp_path / "r", tmp_path / "x"
    table = ip.run_line_magic("ctr", f"--root {root} --runroot {run} images")
    assert len(table) == 0 and (root / "containers").is_dir()
    assert len(ip.run_line_magic("ctr", "images")) == 1


def test_start_attach_and_attach_stream_until_exit(ip: InteractiveShell,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("ctr", f"create --name msa {IMAGE} sh -c 'echo from-start; exit 2'")
    res = ip.run_line_magic("ctr", "start -a msa")  # from configured: init, attach, start
    assert (res.kind, res.exit_code, res.stdout) == ("start", 2, "from-start\n")
    ip.run_line_magic("ctr", f"run -d --name mat {IMAGE} sh -c 'sleep 0.5; echo later; "
                             "exit 5'")
    res = ip.run_line_magic("ctr", "attach mat")
    assert (res.kind, res.exit_code, res.stdout) == ("attach", 5, "later\n")
    assert ip.run_line_magic("ctr", "wait mat msa") == [5, 2]
    capsys.readouterr()


def test_interactive_without_a_body_reads_eof(ip: InteractiveShell,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    res = ip.run_line_magic("ctr", f"run -i --rm {IMAGE} sh -c 'cat; echo after'")
    assert (res.exit_code, res.stdout) == (0, "after\n")
    res = ip.run_line_magic("ctr", f"run -it --rm {IMAGE} sh -c 'cat; tty'")
    assert res.exit_code == 0 and "/dev/pts/0" in res.stdout  # a tty's EOF is its EOF key
    capsys.readouterr()


def test_magics_act_through_the_kernels_engine(ip: InteractiveShell, rt: Runtime,
                                               tmp_path) -> None:  # type: ignore[no-untyped-def]
    magics = registered(ip)
    assert magics is not None and magics.door is kernel.door() and magics.door.runtime is rt
    magics.root, magics.run_root = str(tmp_path / "r"), str(tmp_path / "x")
    try:
        door = magics.door  # configured roots: an engine on them becomes the kernel's
        assert door is kernel.door() and door.runtime.root == tmp_path / "r"
        assert magics.door is door  # once
        assert len(ip.run_line_magic("ctr", "images")) == 0
    finally:
        kernel.door().runtime.close()
        magics.root = magics.run_root = None


def test_commit_history_and_prune_in_a_notebook(ip: InteractiveShell, rt: Runtime,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("ctr", f"run --name mcommit {IMAGE} sh -c 'echo nb > /nb'")
    capsys.readouterr()
    ip.run_line_magic("ctr", "commit -m from-a-notebook mcommit localhost/nb/snap")
    image_id = capsys.readouterr().out.strip()
    assert rt.images.get("localhost/nb/snap").id == image_id
    ip.run_line_magic("ctr", "image history localhost/nb/snap")
    assert "from-a-notebook" in capsys.readouterr().out
    rt.remove_container("mcommit")
    rt.remove_image(image_id)
