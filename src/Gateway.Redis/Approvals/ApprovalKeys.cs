using Gateway.Redis.Budgets;
using StackExchange.Redis;

namespace Gateway.Redis.Approvals;

/// <summary>
/// Key layout: <c>{prefix}{approvals}:rec:{id}</c>, <c>{prefix}{approvals}:call:{call key}</c>,
/// <c>{prefix}{approvals}:open:{sub, agent digest}</c> and <c>{prefix}{approvals}:index</c>.
/// Every approval key shares the one hash tag <c>{approvals}</c>, so a create (record, index, call and
/// open-set together) is one script on one Redis Cluster slot. Approvals arrive at human pace, so one
/// slot is never the bottleneck that it would be for budgets.
/// </summary>
internal sealed class ApprovalKeys
{
    private readonly string _prefix;

    public ApprovalKeys(string prefix)
    {
        // A brace in the prefix would become the hash tag.
        if (prefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            throw new ArgumentException("The key prefix may not contain '{' or '}'.", nameof(prefix));
        }

        _prefix = prefix;
    }

    public RedisKey Record(string id) => $"{_prefix}{{approvals}}:rec:{id}";

    public RedisKey Call(string callKey) => $"{_prefix}{{approvals}}:call:{callKey}";

    public RedisKey Open(string subject, string agent) => $"{_prefix}{{approvals}}:open:{BudgetKeys.Digest(subject + "\n" + agent)}";

    public RedisKey Index => $"{_prefix}{{approvals}}:index";
}
