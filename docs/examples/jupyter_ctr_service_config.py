# Example configuration of the multi-user service:
#   jupyter-ctr service --socket /run/jupyter-ctr/service.sock --config THIS_FILE
# A traitlets config file (a .json file with the same keys works too). Command-line options
# win over the file. The rules apply when the service is multi-user, to students (every user
# without the instructor role); instructors are exempt unless instructor_rules names a rule.
# A refusal is HTTP 403 "refused by policy rule NAME: why" (REST, websockets, the remote CLI,
# magics and widgets all go through the service). 0 or empty means "no limit".
c = get_config()  # noqa: F821 - traitlets provides it

# -- who may connect (ServiceSettings) ----------------------------------------------------
c.ServiceSettings.socket_group = "students"      # members may connect (implies multi-user)
c.ServiceSettings.instructor_group = "teachers"  # root and members: the instructor role

# -- instructors ----------------------------------------------------------------------------
# Names of rules below that apply to instructors too (default: none).
c.PolicyRules.instructor_rules = ["allowed_images"]

# -- refused create options (always on for students, no setting needed) --------------------
# privileged:       "privileged": true / HostConfig.Privileged
# cap_add:          added capabilities (cap_add / HostConfig.CapAdd)
# host_namespaces:  the host's network (--network host) or pid, ipc, uts, user or cgroup
#                   namespace (libpod *ns.nsmode "host", Docker PidMode/IpcMode/... "host")
# devices:          host devices (devices / HostConfig.Devices)
# security_opt:     options that weaken confinement: seccomp=unconfined,
#                   apparmor=unconfined, label=disable, no-new-privileges=false,
#                   systempaths=unconfined
# allowed_host_folders: bind mounts (mounts, overlay_volumes, HostConfig.Binds and Mounts of
#                   type bind) are refused unless their source, symlinks resolved, is one of
#                   these folders or below it. Default: none (every bind mount refused).
c.PolicyRules.allowed_host_folders = ["/srv/course-data"]

# -- allowed_images: fnmatch patterns matched against the image's names (an image given by
# ID counts by its names). Default ["*"]: every image here.
c.PolicyRules.allowed_images = ["localhost/*", "quay.io/course/*"]

# -- per-user limits ------------------------------------------------------------------------
# max_running: running or paused containers per student (checked at start, restart,
# restore and restore --import).
c.PolicyRules.max_running = 3
# max_memory: memory limit per container (bytes, or k/m/g binary units); a container created
# without a limit gets this one.
c.PolicyRules.max_memory = "512m"
# max_total_memory: the sum of the memory limits of a student's running containers,
# checked when one more starts.
c.PolicyRules.max_total_memory = "1g"
# max_cpus: CPUs per container; also the limit of one created without.
c.PolicyRules.max_cpus = 1.0
# max_pids: pids limit per container; one created without gets it (never unlimited).
c.PolicyRules.max_pids = 256
# max_log_size: the container log's size (conmon rotates it; decimal units as podman's
# --log-opt max-size): more is refused, none gets this.
c.PolicyRules.max_log_size = "10m"

# max_checkpoints: a student's containers holding a checkpoint (checkpointed, not yet
# restored); one more checkpoint is refused.
c.PolicyRules.max_checkpoints = 2
# max_archive_size: one checkpoint archive (bytes, or k/m/g binary units). An export whose
# archive is larger is refused once written (the container keeps its checkpoint and can be
# restored here); an import whose upload is larger is refused before it is received.
c.PolicyRules.max_archive_size = "1g"
# max_snapshots: snapshots of one container (its checkpoint timeline, %ctr snapshot); one
# more is refused (taking a step again with --replace is not one more).
c.PolicyRules.max_snapshots = 10
# max_snapshot_size: one snapshot (CRIU's images and the file changes); a larger one is
# removed again and refused.
c.PolicyRules.max_snapshot_size = "512m"

# -- verbs per role: actions (jupyter_ctr/service/policy.py ACTIONS) a role may not use.
# Roles: "student", "instructor". "attach" is attaching to the container's main process
# (PID 1); exec sessions stay allowed.
# (Building the demo image, "image.build", is the instructor's in any case: rule
# instructor_only.)
c.PolicyRules.denied_actions = {"student": ["attach", "export"]}

# -- run time and idle culling (a background task of the service stops the containers;
# events name the user "jupyter-ctr-policy") --------------------------------------------
# max_run_time: seconds a student's container may run.
c.PolicyRules.max_run_time = 4 * 3600
# idle_timeout: seconds without activity (attach, exec or logs opened) and with CPU use
# below idle_cpu (a fraction of one CPU) after which a student's container is stopped.
c.PolicyRules.idle_timeout = 30 * 60
c.PolicyRules.idle_cpu = 0.01
# cull_interval: seconds between two checks.
c.PolicyRules.cull_interval = 60

# -- terminal sessions (docs/websocket-protocol.md, "Sessions") ------------------------------
# record_labs: labs (fnmatch patterns of a container's label jupyter-ctr.lab; "*" for every
# lab) whose terminal sessions are always recorded (asciicast v2, GET /ctr/api/recordings):
# recording starts when the session's websocket bridge opens, whatever the client asked,
# and a client's ["record", false] is refused. The student sees the indicator.
c.PolicyRules.record_labs = ["exam-*"]
# max_recording_size: one recording's size (bytes, or k/m/g binary units); past it the
# recording ends with a marker event saying why.
c.PolicyRules.max_recording_size = "16m"
# Taking over a student's terminal (["take_over"], policy action "session.takeover") is the
# instructor role's (rule instructor_only); shadowing (?shadow=1) needs only sight of the
# container: a student sees their own.
