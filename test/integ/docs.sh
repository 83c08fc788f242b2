#!/usr/bin/env bash
# README.md and docs/*.md against the code, as manpage.sh checks the man
# page: every link and anchor leads somewhere, every repository path and
# make target named exists, every option named is one the binary has (for
# that command), every drsjoin command line of an example parses (run with
# --help appended: options, their values and their order are checked, and
# nothing is done), and the configuration file examples are read without
# an error.
. "$(dirname "$0")/../lib-integ.sh"

top=$DRSJOIN_TOP
export DRSJOIN_CONFIG=/dev/null

# The options of every --help: "global" and each command's, one per line
# as "WHERE OPTION".
{
	"$DRSJOIN" --help | sed -n '/^Global options:/,/^$/p' |
	    grep -oE '(^|[][ (|,])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[][ (|,]//;s/^/global /'
	for c in $("$DRSJOIN" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF && $1 != "Commands:" {print $1}'); do
		"$DRSJOIN" "$c" --help | grep -oE '(^|[][ (|,])--?[A-Za-z][A-Za-z0-9-]*' |
		    sed "s/^[][ (|,]//;s/^/$c /"
	done
} | sort -u >"$T_WORK/opts"
t_check "the --help texts list options" "$([ "$(wc -l <"$T_WORK/opts")" -gt 30 ]; echo $?)"

# What the pages say, as tab-separated facts: the checks are below.
T_WORK=$T_WORK "$PY" - "$top" >"$T_WORK/facts" <<'PY'
import glob, os, re, shlex, sys

top = sys.argv[1]
pages = ["README.md"] + sorted(os.path.relpath(p, top) for p in glob.glob(top + "/docs/*.md"))
commands = "discover nonce keygen csr join status leave".split()

def slug(h):
    h = re.sub(r"[`*]", "", h.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", h))

anchors = {}
for p in pages + ["HACKING.md"]:
    anchors[p] = {slug(l.lstrip("#")) for l in open(os.path.join(top, p)) if l.startswith("#")}

def out(*f):
    print("\t".join(f))

def command_line(where, text):
    """The drsjoin invocations of one shell line."""
    try:
        lex = shlex.shlex(text, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        lex.commenters = "#"
        words = list(lex)
    except ValueError:
        return
    ops = ("|", "||", "&&", ";", "(", "$(")
    i = 0
    while i < len(words):
        # Only where a command stands: first, or after an operator or a
        # variable assignment.
        at_cmd = i == 0 or words[i - 1] in ops or re.fullmatch(r"[A-Za-z_]+=\S*", words[i - 1])
        if at_cmd and words[i] in ("drsjoin", "./drsjoin") and \
           not any(w.startswith("[") for w in words[i + 1:i + 3]):
            argv = []
            for w in words[i + 1:]:
                if w in ("|", "||", "&&", ";", "<", ">", ">>", "2>", "&", "(", ")") or w.startswith(("$(", "`")):
                    break
                argv.append(w)
            out("cmdline", where, "\x1f".join(argv))
        i += 1

confs = 0
for p in pages:
    text = open(os.path.join(top, p)).read()
    for m in re.finditer(r"^( *)```\n(.*?)^ *```", text, re.M | re.S):
        body = [l[len(m.group(1)):] for l in m.group(2).split("\n") if l.strip()]
        keys = [l for l in body if not l.startswith("#")]
        if keys and all(re.fullmatch(r"[a-z-]+ = \S.*", l) for l in keys):
            confs += 1
            path = os.path.join(os.environ["T_WORK"], "conf.%d" % confs)
            open(path, "w").write("\n".join(body) + "\n")
            out("conf", "%s:%d" % (p, text[:m.start()].count("\n") + 1), path)

for p in pages:
    fence = None
    lines = open(os.path.join(top, p)).read().split("\n")
    cont = ""
    for n, line in enumerate(lines, 1):
        where = "%s:%d" % (p, n)
        if line.lstrip().startswith("```"):
            fence = None if fence is not None else (line.strip()[3:].strip() or "conf")
            continue
        code = fence is not None or line.startswith("    ")
        if code and fence not in ("yaml", "json", "conf"):
            if fence is None or fence in ("sh", "console"):
                text = cont + line.strip()
                if text.endswith("\\"):
                    cont = text[:-1] + " "
                    continue
                cont = ""
                command_line(where, text)
            if fence is None and re.match(r"\s+make [a-z]", line):
                out("make", where, line.split()[1])
            continue
        if code:
            continue
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", line):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            t = os.path.normpath(os.path.join(os.path.dirname(p), target)) if target else p
            out("link", where, t, anchor or "-",
                "1" if anchor and anchor in anchors.get(t, set()) else "0")
        for span in re.findall(r"`([^`]+)`", line):
            words = span.split()
            if re.fullmatch(r"(scripts|test|drs|third_party|docs)/[\w./*-]+", span) or \
               span in ("Makefile", "drsjoin.8", "HACKING.md", "LICENSE", "README.md"):
                out("path", where, span)
            elif words and words[0] == "make" and len(words) > 1 and re.fullmatch(r"[a-z][a-z0-9-]*", words[1]):
                out("make", where, words[1])
            else:
                cmd = "any"
                # Another program's options (drs-emulator, emuctl, ...) are its own.
                if words and not words[0].startswith("-") and words[0] != "drsjoin" and \
                   words[0] not in commands:
                    continue
                if words and words[0] == "drsjoin":
                    words = words[1:]
                    cmd = "global"
                for w in words:
                    if w in commands:
                        cmd = w
                    elif re.fullmatch(r"--[a-z][a-z0-9-]*", w.split("=")[0]):
                        out("option", where, cmd, w.split("=")[0])
PY
t_check "the pages were read" "$(grep -c '^cmdline' "$T_WORK/facts" | awk '{exit !($1 >= 5)}'; echo $?)"

bad=
while IFS=$'\t' read -r kind where a b c; do
	case $kind in
	link)
		[ -e "$top/$a" ] || bad="$bad $where:$a"
		[ "$b" = - ] || [ "$c" = 1 ] || bad="$bad $where:$a#$b"
		;;
	esac
done <"$T_WORK/facts"
t_check "every link leads to a file, and every anchor to a heading" "$([ -z "$bad" ]; echo $?)" "dead:$bad"

bad=
while IFS=$'\t' read -r kind where a _; do
	[ "$kind" = path ] || continue
	# shellcheck disable=SC2086
	set -- $top/$a
	[ -e "$1" ] || bad="$bad $where:$a"
done <"$T_WORK/facts"
t_check "every repository path named exists" "$([ -z "$bad" ]; echo $?)" "missing:$bad"

targets=$(make -C "$top" -pRrq : 2>/dev/null | sed -n 's/^\([a-z][a-z0-9-]*\):.*/\1/p' | sort -u)
bad=
while IFS=$'\t' read -r kind where a _; do
	[ "$kind" = make ] || continue
	grep -qx -- "$a" <<<"$targets" || bad="$bad $where:$a"
done <"$T_WORK/facts"
t_check "every make target named exists" "$([ -z "$bad" ]; echo $?)" "unknown:$bad"

bad=
while IFS=$'\t' read -r kind where cmd opt; do
	[ "$kind" = option ] || continue
	case $cmd in
	any) grep -q " $opt\$" "$T_WORK/opts" ;;
	global) grep -qx -- "global $opt" "$T_WORK/opts" || grep -q " $opt\$" "$T_WORK/opts" ;;
	*) grep -qx -- "$cmd $opt" "$T_WORK/opts" || grep -qx -- "global $opt" "$T_WORK/opts" ;;
	esac || bad="$bad $where:${cmd/any/}${cmd:+ }$opt"
done <"$T_WORK/facts"
t_check "every option named is one drsjoin has, for that command" "$([ -z "$bad" ]; echo $?)" "unknown:$bad"

# Each example's command line, with --help after it: exit 0 with the
# command's usage, or it does not parse. PORT stands for a port.
n=0 bad=
while IFS=$'\t' read -r kind where args; do
	[ "$kind" = cmdline ] || continue
	IFS=$'\x1f' read -r -a argv <<<"${args//PORT/8443}"
	[ ${#argv[@]} -gt 0 ] || continue
	n=$((n + 1))
	"$DRSJOIN" --state-dir "$T_WORK/st" "${argv[@]}" --help >"$T_WORK/o" 2>"$T_WORK/e" </dev/null ||
	    bad="$bad $where:'drsjoin ${argv[*]}'($(head -c 200 "$T_WORK/e"))"
done <"$T_WORK/facts"
t_check "every example's drsjoin command line parses ($n)" "$([ -z "$bad" ] && [ "$n" -ge 5 ]; echo $?)" "$bad"

# The configuration file examples: read without an error by status.
n=0
while IFS=$'\t' read -r kind where conf; do
	[ "$kind" = conf ] || continue
	n=$((n + 1))
	chmod 600 "$conf"
	"$DRSJOIN" --config "$conf" --state-dir "$T_WORK/st" status >"$OUT" 2>"$ERR"
	RC=$?
	t_check "$where: the configuration file example is read without an error (status: not joined)" \
	    "$([ "$RC" -eq 8 ]; echo $?)" "exit $RC: $(head -c 300 "$ERR")"
done <"$T_WORK/facts"
t_check "the configuration file examples were found" "$([ "$n" -ge 2 ]; echo $?)" "$n"
t_done
