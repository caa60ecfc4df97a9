using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Gateway.PolicyTesting;

/// <summary><c>gateway diff</c> output: text for a pull-request comment, JSON for a pipeline.</summary>
public static class PolicyDiffWriter
{
    public static string ToText(PolicyDiff diff, ReplayResult? replay)
    {
        ArgumentNullException.ThrowIfNull(diff);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Routes: {diff.AddedRoutes.Count} added, {diff.RemovedRoutes.Count} removed, {diff.ChangedRoutes.Count} changed").AppendLine();
        foreach (var route in diff.AddedRoutes)
        {
            text.Append(CultureInfo.InvariantCulture, $"  + {route.Id}: {route.Methods} {route.Path} -> {route.Action} on {route.Resource}, tier {route.Tier}, risk {route.Risk}, {route.Mode}").AppendLine();
        }

        foreach (var route in diff.RemovedRoutes)
        {
            text.Append(CultureInfo.InvariantCulture, $"  - {route.Id}: {route.Methods} {route.Path} -> {route.Action} on {route.Resource}, tier {route.Tier}").AppendLine();
        }

        Changed(text, diff.ChangedRoutes);
        text.Append(CultureInfo.InvariantCulture, $"Tiers: {diff.AddedTiers.Count} added, {diff.RemovedTiers.Count} removed, {diff.ChangedTiers.Count} changed").AppendLine();
        foreach (var tier in diff.AddedTiers)
        {
            text.Append("  + ").AppendLine(tier);
        }

        foreach (var tier in diff.RemovedTiers)
        {
            text.Append("  - ").AppendLine(tier);
        }

        Changed(text, diff.ChangedTiers);
        Fields(text, "Budgets", diff.Budgets);
        Fields(text, "Gateway", diff.Gateway);

        if (replay is not null)
        {
            text.AppendLine();
            var changed = replay.Changes.Sum(c => c.Count);
            text.Append(CultureInfo.InvariantCulture, $"Replay: {replay.Replayed} recorded calls decided by both policies, {changed} would be decided differently, {replay.Unchanged} the same").AppendLine();
            foreach (var change in replay.Changes)
            {
                text.Append(CultureInfo.InvariantCulture, $"  {change.Route}: this edit would have {Verb(change)} {change.Count} call(s) of {change.Agent} ({change.Old} -> {change.New})").AppendLine();
            }

            if (replay.DiffersFromRecord > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"  note: {replay.DiffersFromRecord} call(s) replayed on OLD are decided otherwise than recorded (budgets and approvals are not replayed; or OLD is not the policy that decided them)").AppendLine();
            }

            foreach (var (reason, count) in replay.Skipped)
            {
                text.Append(CultureInfo.InvariantCulture, $"  not replayed: {count} call(s) {reason}").AppendLine();
            }

            if (replay.Unreadable > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"  {replay.Unreadable} unreadable line(s) skipped").AppendLine();
            }
        }

        return text.ToString();
    }

    private static string Verb(ReplayChange change) =>
        change.New.StartsWith("deny", StringComparison.Ordinal) && !change.Old.StartsWith("deny", StringComparison.Ordinal) ? "refused"
        : change.New == "allow" ? "allowed"
        : "decided otherwise";

    private static void Changed(StringBuilder text, IReadOnlyList<ChangedItem> items)
    {
        foreach (var item in items)
        {
            text.Append("  ~ ").Append(item.Name).Append(": ")
                .AppendLine(string.Join("; ", item.Changes.Select(c => $"{c.Field} {c.Old} -> {c.New}")));
        }
    }

    private static void Fields(StringBuilder text, string title, IReadOnlyList<FieldChange> changes)
    {
        text.Append(title).Append(": ").AppendLine(changes.Count == 0 ? "unchanged" : string.Join("; ", changes.Select(c => $"{c.Field} {c.Old} -> {c.New}")));
    }

    public static void WriteJson(Stream output, PolicyDiff diff, ReplayResult? replay)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(diff);
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteStartObject("routes");
        Summaries(json, "added", diff.AddedRoutes);
        Summaries(json, "removed", diff.RemovedRoutes);
        Items(json, "changed", diff.ChangedRoutes);
        json.WriteEndObject();
        json.WriteStartObject("tiers");
        Names(json, "added", diff.AddedTiers);
        Names(json, "removed", diff.RemovedTiers);
        Items(json, "changed", diff.ChangedTiers);
        json.WriteEndObject();
        FieldChanges(json, "budgets", diff.Budgets);
        FieldChanges(json, "gateway", diff.Gateway);
        if (replay is not null)
        {
            json.WriteStartObject("replay");
            json.WriteNumber("replayed", replay.Replayed);
            json.WriteNumber("unchanged", replay.Unchanged);
            json.WriteNumber("changed", replay.Changes.Sum(c => c.Count));
            json.WriteNumber("unreadable", replay.Unreadable);
            json.WriteNumber("differs_from_record", replay.DiffersFromRecord);
            json.WriteStartObject("skipped");
            foreach (var (reason, count) in replay.Skipped)
            {
                json.WriteNumber(reason, count);
            }

            json.WriteEndObject();
            json.WriteStartArray("changes");
            foreach (var change in replay.Changes)
            {
                json.WriteStartObject();
                json.WriteString("route", change.Route);
                json.WriteString("agent", change.Agent);
                json.WriteString("old", change.Old);
                json.WriteString("new", change.New);
                json.WriteNumber("count", change.Count);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }

    private static void Summaries(Utf8JsonWriter json, string name, IReadOnlyList<RouteSummary> routes)
    {
        json.WriteStartArray(name);
        foreach (var route in routes)
        {
            json.WriteStartObject();
            json.WriteString("id", route.Id);
            json.WriteString("methods", route.Methods);
            json.WriteString("path", route.Path);
            json.WriteString("action", route.Action);
            json.WriteString("resource", route.Resource);
            json.WriteString("tier", route.Tier);
            json.WriteNumber("risk", route.Risk);
            json.WriteString("mode", route.Mode);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void Names(Utf8JsonWriter json, string name, IReadOnlyList<string> names)
    {
        json.WriteStartArray(name);
        foreach (var value in names)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static void Items(Utf8JsonWriter json, string name, IReadOnlyList<ChangedItem> items)
    {
        json.WriteStartArray(name);
        foreach (var item in items)
        {
            json.WriteStartObject();
            json.WriteString("name", item.Name);
            FieldChanges(json, "changes", item.Changes);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void FieldChanges(Utf8JsonWriter json, string name, IReadOnlyList<FieldChange> changes)
    {
        json.WriteStartArray(name);
        foreach (var change in changes)
        {
            json.WriteStartObject();
            json.WriteString("field", change.Field);
            json.WriteString("old", change.Old);
            json.WriteString("new", change.New);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }
}
