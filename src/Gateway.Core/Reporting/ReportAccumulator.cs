using Gateway.Audit;

namespace Gateway.Reporting;

/// <summary>Counts for one part of the log; parts are merged, so every count is a sum or a union.</summary>
internal sealed class ReportAccumulator
{
    private const string Unattributed = "(unattributed)";

    private readonly DateTimeOffset? _since;
    private readonly DateTimeOffset _until;
    private readonly ReportEvent _event = new();
    private readonly GrantSetCache _grantSets = new();
    private readonly Dictionary<string, Counters> _agents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Counters> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, long>> _shadow = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _refusals = new(StringComparer.Ordinal);

    // Approvals are admin events that name the approval and the trace of the refused call that asked for it;
    // the refused call names the user and agent. Joined once everything is read.
    private readonly Dictionary<string, (string Subject, string Agent)> _askedByTrace = new(StringComparer.Ordinal);
    private readonly List<(string Action, string ApprovalId, string? TraceId)> _approvalEvents = [];
    private readonly Dictionary<(string Agent, string Grants), GrantUse> _grantUses = [];

    private long _lines;
    private long _unreadable;
    private long _calls;
    private long _admin;
    private DateTimeOffset? _first;
    private DateTimeOffset? _last;

    public ReportAccumulator(DateTimeOffset? since, DateTimeOffset until)
    {
        _since = since;
        _until = until;
    }

    public void AddBlock(ReadOnlyMemory<byte> block)
    {
        var span = block.Span;
        var start = 0;
        while (start < span.Length)
        {
            var length = span[start..].IndexOf((byte)'\n');
            var end = length < 0 ? span.Length : start + length;
            if (end > start)
            {
                AddLine(block[start..end]);
            }

            start = end + 1;
        }
    }

    private void AddLine(ReadOnlyMemory<byte> line)
    {
        _lines++;
        var e = _event;
        if (!ReportEventReader.TryRead(line, e))
        {
            _unreadable++;
            return;
        }

        if ((_since is { } since && e.Time < since) || e.Time > _until)
        {
            return;
        }

        _first = _first is { } first && first <= e.Time ? first : e.Time;
        _last = _last is { } last && last >= e.Time ? last : e.Time;
        if (e.Decision == AuditDecision.Admin)
        {
            _admin++;
            AddAdmin(e);
            return;
        }

        _calls++;
        var agent = Count(_agents, e.Agent ?? PrincipalActivity.NoToken, e);
        var user = Count(_users, e.Subject ?? PrincipalActivity.NoToken, e);
        if (e.Decision == AuditDecision.Deny && e.Error is { } error)
        {
            _refusals[error] = _refusals.GetValueOrDefault(error) + 1;
            if (error == "approval_required" && e.TraceId is { } trace && e.Subject is not null && e.Agent is not null)
            {
                _askedByTrace[trace] = (e.Subject, e.Agent);
            }
        }
        else if (e.Decision == AuditDecision.ShadowDeny && e.Route is { } route)
        {
            if (!_shadow.TryGetValue(route, out var byError))
            {
                byError = new Dictionary<string, long>(StringComparer.Ordinal);
                _shadow[route] = byError;
            }

            var code = e.Error ?? "";
            byError[code] = byError.GetValueOrDefault(code) + 1;
        }

        _ = agent;
        _ = user;
        if (e.Agent is not null && e.GrantsJson.Length > 2)
        {
            AddGrantUse(e);
        }
    }

    private static Counters Count(Dictionary<string, Counters> table, string name, ReportEvent e)
    {
        if (!table.TryGetValue(name, out var counters))
        {
            counters = new Counters();
            table[name] = counters;
        }

        counters.Add(e);
        return counters;
    }

    private void AddAdmin(ReportEvent e)
    {
        if (e.AdminAction is "approval.requested" or "approval.approved" or "approval.denied"
            && e.AdminTarget is { } target && target.StartsWith("approval:", StringComparison.Ordinal))
        {
            _approvalEvents.Add((e.AdminAction, target["approval:".Length..], e.TraceId));
        }
    }

    private void AddGrantUse(ReportEvent e)
    {
        var set = _grantSets.Get(e.GrantsJson.Span);
        if (set.Pairs.Count == 0)
        {
            return;
        }

        var key = (e.Agent!, set.Raw);
        if (!_grantUses.TryGetValue(key, out var use))
        {
            use = new GrantUse(set);
            _grantUses[key] = use;
        }

        if (e.Jti is { } jti)
        {
            use.Tokens.Add(jti);
        }

        if (e.Subject is { } subject)
        {
            use.Users.Add(subject);
        }

        // Exercised: a forwarded call (allowed, or shadow-refused and let through) that fell under the pair.
        if (e.Decision is AuditDecision.Allow or AuditDecision.ShadowDeny && e.Action is { } action && e.Resource is { } resource)
        {
            for (var i = 0; i < set.Pairs.Count; i++)
            {
                if (!use.Used[i] && set.Pairs[i].Covers(action, resource))
                {
                    use.Used[i] = true;
                }
            }
        }
    }

    public void Merge(ReportAccumulator other)
    {
        _lines += other._lines;
        _unreadable += other._unreadable;
        _calls += other._calls;
        _admin += other._admin;
        if (other._first is { } first && (_first is null || first < _first))
        {
            _first = first;
        }

        if (other._last is { } last && (_last is null || last > _last))
        {
            _last = last;
        }

        MergeCounters(_agents, other._agents);
        MergeCounters(_users, other._users);
        foreach (var (route, byError) in other._shadow)
        {
            if (!_shadow.TryGetValue(route, out var mine))
            {
                mine = new Dictionary<string, long>(StringComparer.Ordinal);
                _shadow[route] = mine;
            }

            Sum(mine, byError);
        }

        Sum(_refusals, other._refusals);
        foreach (var (trace, who) in other._askedByTrace)
        {
            _askedByTrace[trace] = who;
        }

        _approvalEvents.AddRange(other._approvalEvents);
        foreach (var (key, use) in other._grantUses)
        {
            if (!_grantUses.TryGetValue(key, out var mine))
            {
                _grantUses[key] = use;
                continue;
            }

            mine.Tokens.UnionWith(use.Tokens);
            mine.Users.UnionWith(use.Users);
            for (var i = 0; i < mine.Used.Length; i++)
            {
                mine.Used[i] |= use.Used[i];
            }
        }
    }

    public AuditReport ToReport(IReadOnlyList<string> files)
    {
        // Approvals: requested -> (approval id -> who asked, by the refused call's trace), then outcomes by approval id.
        var byApproval = new Dictionary<string, (string Subject, string Agent)>(StringComparer.Ordinal);
        foreach (var (action, id, trace) in _approvalEvents.Where(a => a.Action == "approval.requested"))
        {
            (string Subject, string Agent) who = trace is not null && _askedByTrace.TryGetValue(trace, out var asked) ? asked : (Unattributed, Unattributed);
            byApproval[id] = who;
            Principal(_agents, who.Agent).ApprovalsAsked++;
            Principal(_users, who.Subject).ApprovalsAsked++;
        }

        foreach (var (action, id, _) in _approvalEvents.Where(a => a.Action != "approval.requested"))
        {
            (string Subject, string Agent) who = byApproval.TryGetValue(id, out var asked) ? asked : (Unattributed, Unattributed);
            var granted = action == "approval.approved";
            foreach (var counters in new[] { Principal(_agents, who.Agent), Principal(_users, who.Subject) })
            {
                if (granted)
                {
                    counters.ApprovalsGranted++;
                }
                else
                {
                    counters.ApprovalsDenied++;
                }
            }
        }

        var unused = new List<UnusedGrant>();
        var seen = new HashSet<(string, string, string)>();
        var usedPairs = new HashSet<(string, string, string)>();
        foreach (var ((agent, _), use) in _grantUses)
        {
            for (var i = 0; i < use.Set.Pairs.Count; i++)
            {
                var pair = use.Set.Pairs[i];
                var key = (agent, pair.Action.Text, pair.Resource.Text);
                seen.Add(key);
                if (use.Used[i])
                {
                    usedPairs.Add(key);
                }
            }
        }

        // A pair is unused when no token of the agent that carried it used it (several tokens may carry one pair).
        foreach (var key in seen.Where(k => !usedPairs.Contains(k)))
        {
            var carriers = _grantUses.Where(g => g.Key.Agent == key.Item1 && g.Value.Set.Pairs.Any(p => p.Action.Text == key.Item2 && p.Resource.Text == key.Item3)).ToList();
            unused.Add(new UnusedGrant(
                key.Item1,
                key.Item2,
                key.Item3,
                carriers.SelectMany(c => c.Value.Tokens).Distinct(StringComparer.Ordinal).Count(),
                carriers.SelectMany(c => c.Value.Users).Distinct(StringComparer.Ordinal).Count()));
        }

        return new AuditReport
        {
            Since = _since,
            Until = _until,
            Files = files,
            Lines = _lines,
            Unreadable = _unreadable,
            Calls = _calls,
            AdminEvents = _admin,
            FirstEvent = _first,
            LastEvent = _last,
            Agents = Activities(_agents),
            Users = Activities(_users),
            ShadowRefusals = [.. _shadow
                .Select(s => new ShadowRefusals(s.Key, s.Value.Values.Sum(), Sorted(s.Value)))
                .OrderByDescending(s => s.Count).ThenBy(s => s.Route, StringComparer.Ordinal)],
            UnusedGrants = [.. unused.OrderBy(u => u.Agent, StringComparer.Ordinal).ThenBy(u => u.Action, StringComparer.Ordinal).ThenBy(u => u.Resource, StringComparer.Ordinal)],
            GrantsSeen = seen.Count,
            RefusalsByError = Sorted(_refusals),
        };
    }

    private static Counters Principal(Dictionary<string, Counters> table, string name)
    {
        if (!table.TryGetValue(name, out var counters))
        {
            counters = new Counters();
            table[name] = counters;
        }

        return counters;
    }

    private static List<PrincipalActivity> Activities(Dictionary<string, Counters> table) =>
        [.. table
            .Select(p => p.Value.ToActivity(p.Key))
            .OrderByDescending(a => a.Calls).ThenBy(a => a.Name, StringComparer.Ordinal)];

    private static Dictionary<string, long> Sorted(Dictionary<string, long> counts) =>
        counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).ToDictionary(StringComparer.Ordinal);

    private static void Sum(Dictionary<string, long> into, Dictionary<string, long> from)
    {
        foreach (var (key, value) in from)
        {
            into[key] = into.GetValueOrDefault(key) + value;
        }
    }

    private static void MergeCounters(Dictionary<string, Counters> into, Dictionary<string, Counters> from)
    {
        foreach (var (name, counters) in from)
        {
            if (into.TryGetValue(name, out var mine))
            {
                mine.Merge(counters);
            }
            else
            {
                into[name] = counters;
            }
        }
    }

    private sealed class GrantUse(GrantSet set)
    {
        public GrantSet Set { get; } = set;
        public bool[] Used { get; } = new bool[set.Pairs.Count];
        public HashSet<string> Tokens { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Users { get; } = new(StringComparer.Ordinal);
    }

    private sealed class Counters
    {
        public long Calls;
        public long Allowed;
        public long Refused;
        public long ShadowRefused;
        public long ApprovalsAsked;
        public long ApprovalsGranted;
        public long ApprovalsDenied;
        public long StepUps;
        public long RiskSpent;
        public long StepsExhausted;
        public long RiskExhausted;
        public readonly Dictionary<string, long> ByError = new(StringComparer.Ordinal);

        public void Add(ReportEvent e)
        {
            Calls++;
            switch (e.Decision)
            {
                case AuditDecision.Allow:
                    Allowed++;
                    RiskSpent += e.Risk;
                    break;
                case AuditDecision.ShadowDeny:
                    ShadowRefused++;
                    break;
                case AuditDecision.Deny:
                    Refused++;
                    var error = e.Error ?? "";
                    ByError[error] = ByError.GetValueOrDefault(error) + 1;
                    switch (error)
                    {
                        case "insufficient_user_authentication":
                            StepUps++;
                            break;
                        case "step_limit_exceeded":
                            StepsExhausted++;
                            break;
                        case "risk_budget_exceeded":
                            RiskExhausted++;
                            break;
                        case "approval_required" when e.Reason == "risk_budget":
                            RiskExhausted++;
                            break;
                    }

                    break;
            }
        }

        public void Merge(Counters other)
        {
            Calls += other.Calls;
            Allowed += other.Allowed;
            Refused += other.Refused;
            ShadowRefused += other.ShadowRefused;
            ApprovalsAsked += other.ApprovalsAsked;
            ApprovalsGranted += other.ApprovalsGranted;
            ApprovalsDenied += other.ApprovalsDenied;
            StepUps += other.StepUps;
            RiskSpent += other.RiskSpent;
            StepsExhausted += other.StepsExhausted;
            RiskExhausted += other.RiskExhausted;
            Sum(ByError, other.ByError);
        }

        public PrincipalActivity ToActivity(string name) => new()
        {
            Name = name,
            Calls = Calls,
            Allowed = Allowed,
            Refused = Refused,
            ShadowRefused = ShadowRefused,
            RefusalsByError = Sorted(ByError),
            ApprovalsAsked = ApprovalsAsked,
            ApprovalsGranted = ApprovalsGranted,
            ApprovalsDenied = ApprovalsDenied,
            StepUps = StepUps,
            RiskSpent = RiskSpent,
            StepsExhausted = StepsExhausted,
            RiskExhausted = RiskExhausted,
        };
    }
}
