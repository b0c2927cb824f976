package driver

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/heraldhq/herald/bench/qlikgen"
)

// The benchmark's rule set is, by default, 20 rules: the qliksense pack's
// three and the 17 below, written the way an administrator adds rules for
// other loggers and messages. More rules (-rules N) add generated ones of the
// same kind (extraRules). Herald reads them as TOML rules; syslog-ng gets the
// same conditions as N filters. Both are rendered from these specs, so the two
// tools evaluate the same conditions. On the generated log only the pack's
// qlik-reload-failed matches (once per alert row); the others look for texts
// the log does not hold, though many share its loggers and levels, so their
// conditions are evaluated rather than skipped.

// op is how a condition compares a field with its values; any value may match.
type op int

const (
	opEqual    op = iota // the field is one of the values
	opPrefix             // the field starts with one of the values
	opContains           // the field contains one of the values
	opRegexp             // the field matches the (single) regular expression
)

// cond is one condition on a field; a rule matches when all of its hold.
type cond struct {
	field  string
	op     op
	values []string
}

// ruleSpec is one rule. pack marks the qliksense pack's rules, which Herald
// loads from the pack rather than from the benchmark's rule file.
type ruleSpec struct {
	id       string
	pack     bool
	severity string
	title    string // the alert title's fixed start
	key      string // expression of the alert key
	conds    []cond
}

const (
	lTaskSession = qlikgen.LoggerTaskSession
	lMaster      = "System.Scheduler.Scheduler.Master.MasterCoordinator"
	lSlave       = "System.Scheduler.Scheduler.SlaveCoordinator"
	lReloadTask  = "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask"
	lProvider    = "System.Scheduler.Scheduler.EngineWrapper.ReloadProvider"
	lSchedule    = "System.Scheduler.Scheduler.Master.Schedule.ScheduleEngine"
	lRepository  = "System.Scheduler.Repository.RepositoryProxy"
	lChain       = "System.Scheduler.Scheduler.Master.Chain.ChainManager"
)

func eq(field string, v ...string) cond       { return cond{field, opEqual, v} }
func prefix(field string, v ...string) cond   { return cond{field, opPrefix, v} }
func contains(field string, v ...string) cond { return cond{field, opContains, v} }
func regexpOf(field, re string) cond          { return cond{field, opRegexp, []string{re}} }

// failedRule is the id of the only rule that matches the generated log.
const failedRule = "qlik-reload-failed"

// DefaultRules is the number of rules the benchmark runs by default.
const DefaultRules = 20

// baseRules are the benchmark's 20 rules. The first three restate the
// qliksense pack (rules/packs/qliksense.toml) for syslog-ng.
var baseRules = []ruleSpec{
	{id: failedRule, pack: true, conds: []cond{eq("Logger", lTaskSession), prefix("Message", "Max retries reached", "Execution State Change to FinishedFail")}},
	{id: "qlik-reload-aborted", pack: true, conds: []cond{eq("Logger", lTaskSession), prefix("Message", "Execution State Change to Aborting")}},
	{id: "qlik-reload-succeeded", pack: true, conds: []cond{eq("Logger", lTaskSession), prefix("Message", "Execution State Change to FinishedSuccess")}},

	{id: "task-no-executor", severity: "critical", title: "No executor for task", key: "TaskId",
		conds: []cond{eq("Logger", lTaskSession), prefix("Message", "Could not reserve an executor for task")}},
	{id: "task-session-start-failed", severity: "critical", title: "Task session did not start", key: "TaskId",
		conds: []cond{eq("Logger", lTaskSession), prefix("Message", "Failed to start session")}},
	{id: "task-skipped", severity: "warning", title: "Task run skipped", key: "TaskId",
		conds: []cond{eq("Logger", lTaskSession), prefix("Message", "Execution State Change to Skipped")}},
	{id: "task-error-state", severity: "critical", title: "Task ended in state Error", key: "TaskId",
		conds: []cond{eq("Logger", lTaskSession), prefix("Message", "Execution State Change to Error", "Task finished with state Error")}},
	{id: "reload-timeout", severity: "critical", title: "Reload exceeded its timeout", key: "TaskId",
		conds: []cond{eq("Logger", lReloadTask), contains("Message", "exceeded the task timeout")}},
	{id: "distribute-failed", severity: "warning", title: "Distribution failed", key: "TaskId",
		conds: []cond{eq("Logger", lReloadTask), eq("Level", "ERROR"), contains("Message", "Distribute task")}},
	{id: "engine-connect-failed", severity: "critical", title: "Scheduler cannot reach the engine", key: "Hostname",
		conds: []cond{eq("Logger", lProvider), eq("Level", "ERROR"), prefix("Message", "Failed to connect to engine")}},
	{id: "engine-out-of-memory", severity: "critical", title: "Engine out of memory during reload", key: "TaskId",
		conds: []cond{eq("Logger", lProvider), contains("Message", "out of memory", "OutOfMemory")}},
	{id: "slave-not-responding", severity: "critical", title: "Slave scheduler not responding", key: "Hostname",
		conds: []cond{eq("Logger", lMaster), eq("Level", "ERROR", "FATAL"), contains("Message", "is not responding")}},
	{id: "master-unreachable", severity: "critical", title: "Master scheduler unreachable", key: "Hostname",
		conds: []cond{eq("Logger", lSlave), eq("Level", "ERROR", "FATAL"), contains("Message", "Lost connection to master")}},
	{id: "master-very-slow", severity: "warning", title: "Master scheduler very slow", key: "Hostname",
		conds: []cond{eq("Logger", lSlave), eq("Level", "WARN"), regexpOf("Message", `^Slow response from master scheduler: [0-9]{5,} ms$`)}},
	{id: "no-license", severity: "critical", title: "No license for the scheduler", key: "Hostname",
		conds: []cond{eq("Logger", lMaster), contains("Message", "No license available")}},
	{id: "repository-unavailable", severity: "critical", title: "Repository service unavailable", key: "Hostname",
		conds: []cond{eq("Logger", lRepository), eq("Level", "ERROR", "FATAL"), contains("Message", "Repository service unavailable")}},
	{id: "repository-certificate", severity: "critical", title: "Repository certificate problem", key: "Hostname",
		conds: []cond{eq("Logger", lRepository), eq("Level", "ERROR"), contains("Message", "certificate")}},
	{id: "trigger-misfired", severity: "warning", title: "Schedule trigger misfired", key: "Hostname",
		conds: []cond{eq("Logger", lSchedule), eq("Level", "WARN", "ERROR"), prefix("Message", "Trigger misfired")}},
	{id: "chain-rule-failed", severity: "warning", title: "Task chain rule failed", key: "Hostname",
		conds: []cond{eq("Logger", lChain), eq("Level", "ERROR")}},
	{id: "scheduler-fatal", severity: "critical", title: "Scheduler logged a fatal error", key: "Hostname",
		conds: []cond{prefix("Logger", "System.Scheduler."), eq("Level", "FATAL")}},
}

// packRules is how many of baseRules the qliksense pack holds.
const packRules = 3

// ruleTable returns the benchmark's first n rules: baseRules, then as many
// generated rules (extraRules) as it takes. The pack's rules are always in.
func ruleTable(n int) ([]ruleSpec, error) {
	if n < packRules {
		return nil, fmt.Errorf("rules %d: the qliksense pack alone has %d, so at least %d", n, packRules, packRules)
	}
	if n <= len(baseRules) {
		return baseRules[:n:n], nil
	}
	return append(slices.Clone(baseRules), extraRules(n-len(baseRules))...), nil
}

// extraRules generates n rules of the kind an administrator adds, for a rule
// count beyond baseRules. Each looks at a logger and level the log has, so
// its conditions are evaluated, and for a message with a code the log never
// holds, so it never matches. They are the same for the same n.
func extraRules(n int) []ruleSpec {
	loggers := []string{lTaskSession, lMaster, lSlave, lReloadTask, lProvider, lSchedule, lRepository}
	levels := [][]string{{"ERROR"}, {"WARN", "ERROR"}, {"INFO"}, {"ERROR", "FATAL"}, {"DEBUG", "INFO", "WARN"}}
	phrases := []string{"Reload failed with code", "Connection reset by peer, code", "Quota exceeded, code", "Unexpected token in script, code", "Data connection refused, code", "Section access denied, code"}
	out := make([]ruleSpec, n)
	for i := range out {
		code := fmt.Sprintf(" X%04d", i+1) // the generated log has no "X" codes
		msg := phrases[i%len(phrases)] + code
		var m cond
		switch i % 3 {
		case 0:
			m = prefix("Message", msg)
		case 1:
			m = contains("Message", msg)
		default:
			m = contains("Message", msg, "E"+code[2:]+" raised")
		}
		out[i] = ruleSpec{
			id:       fmt.Sprintf("custom-%03d", i+1),
			severity: []string{"warning", "critical"}[i%2],
			title:    fmt.Sprintf("Custom check %d", i+1),
			key:      []string{"TaskId", "Hostname"}[i%2],
			conds:    []cond{eq("Logger", loggers[i%len(loggers)]), eq("Level", levels[i%len(levels)]...), m},
		}
	}
	return out
}

// packs are the rule packs Herald loads besides the rule file.
var packs = []string{"qliksense"}

// heraldRules renders the non-pack specs as a Herald rule file.
func heraldRules(specs []ruleSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by the Herald benchmark (bench/driver): %d rules an administrator\n", len(specs)-packRules)
	b.WriteString("# might add beside the qliksense pack. None matches the generated log.\n")
	for _, r := range specs {
		if r.pack {
			continue
		}
		fmt.Fprintf(&b, "\n[[rule]]\nid = %q\nparsers = [\"qlik\"]\n", r.id)
		fmt.Fprintf(&b, "when = '''\n%s\n'''\n", exprOf(r.conds))
		fmt.Fprintf(&b, "key = '%s'\n", r.key)
		fmt.Fprintf(&b, "severity = %q\n", r.severity)
		fmt.Fprintf(&b, "title = '%s + \": \" + (TaskName != \"\" ? TaskName : Hostname)'\n", strconv.Quote(r.title))
		b.WriteString("message = 'truncate(Message, 200)'\n")
		b.WriteString("fields = { TaskName = 'TaskName', TaskId = 'TaskId', Level = 'Level', Logger = 'Logger' }\n")
		b.WriteString("rate_limit = \"15m\"\n")
	}
	return b.String()
}

// exprOf renders conditions as an expr boolean expression.
func exprOf(cs []cond) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		var alts []string
		switch c.op {
		case opEqual:
			if len(c.values) == 1 {
				alts = []string{c.field + " == " + strconv.Quote(c.values[0])}
			} else {
				q := make([]string, len(c.values))
				for j, v := range c.values {
					q[j] = strconv.Quote(v)
				}
				alts = []string{c.field + " in [" + strings.Join(q, ", ") + "]"}
			}
		case opPrefix, opContains:
			word := map[op]string{opPrefix: " startsWith ", opContains: " contains "}[c.op]
			for _, v := range c.values {
				alts = append(alts, c.field+word+strconv.Quote(v))
			}
		case opRegexp:
			alts = []string{c.field + " matches " + strconv.Quote(c.values[0])}
		}
		parts[i] = strings.Join(alts, " || ")
		if len(alts) > 1 {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, "\n&& ")
}

// matchSpec reports whether a record (fields by name) satisfies the
// conditions, with the semantics both renderings have. Tests use it to check
// the renderings against each other.
func matchSpec(cs []cond, field func(string) string) bool {
	for _, c := range cs {
		v, ok := field(c.field), false
		for _, want := range c.values {
			switch c.op {
			case opEqual:
				ok = v == want
			case opPrefix:
				ok = strings.HasPrefix(v, want)
			case opContains:
				ok = strings.Contains(v, want)
			case opRegexp:
				ok = regexp.MustCompile(want).MatchString(v)
			}
			if ok {
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// The webhook formats the benchmark runs (Options.Format).
const (
	FormatHerald       = "herald"
	FormatAlertmanager = "alertmanager"
)

// batchSize is how many events syslog-ng posts in one request (batch-lines)
// and, in the alertmanager format, Herald at most (max_alerts).
const batchSize = 100

// heraldConfig renders herald.toml for one run, with the webhook sink in
// format.
func heraldConfig(dataDir, logPath, rulesPath, url, format string) (string, error) {
	for _, p := range []string{dataDir, logPath, rulesPath} {
		if strings.ContainsAny(p, "'\n") {
			return "", fmt.Errorf("path %q: a TOML literal string cannot hold a quote or newline", p)
		}
	}
	q := make([]string, len(packs))
	for i, p := range packs {
		q[i] = strconv.Quote(p)
	}
	return fmt.Sprintf(`# Written by the Herald benchmark (bench/driver).
[agent]
data_dir = '%s'
host = "bench"
log_level = "warn"

[[input]]
name = "scheduler"
type = "file"
paths = ['%s']
parser = "qlik"
start_at = "beginning"

[[sink]]
name = "receiver"
plugin = "webhook"
[sink.config]
url = %q
format = %q
%s
[rules]
files = ['%s']
packs = [%s]
`, dataDir, logPath, url, format, batchKeys(format), rulesPath, strings.Join(q, ", ")), nil
}

// batchKeys are the webhook keys that make format batch as syslog-ng does.
func batchKeys(format string) string {
	if format != FormatAlertmanager {
		return ""
	}
	return fmt.Sprintf("max_alerts = %d\n", batchSize)
}

// syslogNGConfig renders the equivalent syslog-ng configuration: the same
// file read from its start, split on tabs into the same columns, the rules
// as filters, and matches POSTed as NDJSON (the settings of
// research/peers.md §2.3).
func syslogNGConfig(logPath, url string, specs []ruleSpec) string {
	cols := make([]string, len(qlikgen.Columns))
	for i, c := range qlikgen.Columns {
		cols[i] = sngString(strings.TrimSuffix(c, "#"))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `@version: 3.38
# Written by the Herald benchmark (bench/driver).
options { stats-freq(0); threaded(yes); log-msg-size(65536); };

source s_qlik {
  file(%s flags(no-parse) follow-freq(1)
       log-fetch-limit(1000) log-iw-size(100000));
};

parser p_tsv {
  csv-parser(columns(%s)
             delimiters(chars("\t")) quote-pairs("") prefix("q.") flags(escape-none));
};
`, sngString(logPath), strings.Join(cols, ", "))
	names := make([]string, len(specs))
	for i, r := range specs {
		names[i] = fmt.Sprintf("filter(f_%02d)", i+1)
		fmt.Fprintf(&b, "\n# %s\nfilter f_%02d {\n  %s\n};\n", r.id, i+1, sngFilter(r.conds))
	}
	fmt.Fprintf(&b, `
filter f_rules { %s };

destination d_http {
  http(url(%s) method("POST")
       headers("Content-Type: application/x-ndjson")
       body("$(format-json --key q.* --rekey q.* --shift 2)")
       batch-lines(%d) batch-timeout(200) workers(2));
};

log { source(s_qlik); parser(p_tsv); filter(f_rules); destination(d_http); flags(flow-control); };
`, strings.Join(names, " or "), sngString(url), batchSize)
	return b.String()
}

// sngFilter renders conditions as a syslog-ng filter expression.
func sngFilter(cs []cond) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		alts := make([]string, len(c.values))
		for j, v := range c.values {
			kind := map[op]string{
				opEqual:    "type(string)",
				opPrefix:   "type(string) flags(prefix)",
				opContains: "type(string) flags(substring)",
				opRegexp:   "type(pcre)",
			}[c.op]
			alts[j] = fmt.Sprintf("match(%s value(\"q.%s\") %s)", sngString(v), c.field, kind)
		}
		parts[i] = strings.Join(alts, " or ")
		if len(alts) > 1 {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, "\n  and ")
}

// sngString quotes s as a syslog-ng string. None of the strings quoted here
// is a template, so a $ (a regexp's end anchor) stays as it is.
func sngString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
