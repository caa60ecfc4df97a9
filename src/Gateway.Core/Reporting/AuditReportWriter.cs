using System.Globalization;
using System.Text;
using System.Text.Json;
using Gateway.Audit;
using Gateway.Policy;

namespace Gateway.Reporting;

/// <summary>An <see cref="AuditReport"/> as plain text (a terminal, a ticket) or JSON (a pipeline); the HTML page is <see cref="AuditReportPage"/>.</summary>
public static class AuditReportWriter
{
    public static string ToText(AuditReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Audit report {Window(report)}: {report.Calls} calls, {report.AdminEvents} admin events, {report.Files.Count} file(s)");
        if (report.Unreadable > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", {report.Unreadable} unreadable line(s) skipped");
        }

        text.AppendLine().AppendLine();
        Principals(text, "Agents", report.Agents);
        Principals(text, "Users", report.Users);

        text.AppendLine("Shadow-mode refusals per route (what enforcing these routes would refuse)");
        if (report.ShadowRefusals.Count == 0)
        {
            text.AppendLine("  none");
        }

        foreach (var shadow in report.ShadowRefusals)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {shadow.Route,-32} {shadow.Count,8}  {Errors(shadow.ByError)}").AppendLine();
        }

        text.AppendLine();
        text.Append(CultureInfo.InvariantCulture, $"Unused grants: {report.UnusedGrants.Count} of {report.GrantsSeen} granted (agent, action, resource) never exercised in the window").AppendLine();
        foreach (var grant in report.UnusedGrants)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {grant.Agent,-24} {grant.Action} on {grant.Resource}  (in {grant.Tokens} token(s) of {grant.Users} user(s))").AppendLine();
        }

        return text.ToString();
    }

    private static void Principals(StringBuilder text, string title, IReadOnlyList<PrincipalActivity> principals)
    {
        text.Append(CultureInfo.InvariantCulture,
            $"{title,-24} {"calls",8} {"allowed",8} {"refused",8} {"shadow",7} {"step-ups",8} {"approvals a/g/d",16} {"risk",7} {"steps-out",9} {"risk-out",8}").AppendLine();
        foreach (var p in principals)
        {
            var approvals = $"{p.ApprovalsAsked}/{p.ApprovalsGranted}/{p.ApprovalsDenied}";
            text.Append(CultureInfo.InvariantCulture,
                $"{p.Name,-24} {p.Calls,8} {p.Allowed,8} {p.Refused,8} {p.ShadowRefused,7} {p.StepUps,8} {approvals,16} {p.RiskSpent,7} {p.StepsExhausted,9} {p.RiskExhausted,8}").AppendLine();
            if (p.RefusalsByError.Count > 0)
            {
                text.Append("    refused: ").AppendLine(Errors(p.RefusalsByError));
            }
        }

        text.AppendLine();
    }

    internal static string Errors(IReadOnlyDictionary<string, long> byError) =>
        string.Join(", ", byError.Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Key} {e.Value}")));

    internal static string Window(AuditReport report) =>
        report.Since is { } since
            ? $"{AuditEventSerializer.FormatTime(since)} .. {AuditEventSerializer.FormatTime(report.Until)} ({PolicyDuration.Format(report.Until - since)})"
            : $"up to {AuditEventSerializer.FormatTime(report.Until)} (whole log)";

    public static void WriteJson(Stream output, AuditReport report)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(report);
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteStartObject("window");
        Time(json, "since", report.Since);
        Time(json, "until", report.Until);
        Time(json, "first_event", report.FirstEvent);
        Time(json, "last_event", report.LastEvent);
        json.WriteEndObject();
        json.WriteStartArray("files");
        foreach (var file in report.Files)
        {
            json.WriteStringValue(file);
        }

        json.WriteEndArray();
        json.WriteNumber("lines", report.Lines);
        json.WriteNumber("unreadable", report.Unreadable);
        json.WriteNumber("calls", report.Calls);
        json.WriteNumber("admin_events", report.AdminEvents);
        Counts(json, "refusals_by_error", report.RefusalsByError);
        Principals(json, "agents", report.Agents);
        Principals(json, "users", report.Users);
        json.WriteStartArray("shadow_refusals");
        foreach (var shadow in report.ShadowRefusals)
        {
            json.WriteStartObject();
            json.WriteString("route", shadow.Route);
            json.WriteNumber("count", shadow.Count);
            Counts(json, "by_error", shadow.ByError);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteNumber("grants_seen", report.GrantsSeen);
        json.WriteStartArray("unused_grants");
        foreach (var grant in report.UnusedGrants)
        {
            json.WriteStartObject();
            json.WriteString("agent", grant.Agent);
            json.WriteString("action", grant.Action);
            json.WriteString("resource", grant.Resource);
            json.WriteNumber("tokens", grant.Tokens);
            json.WriteNumber("users", grant.Users);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Principals(Utf8JsonWriter json, string name, IReadOnlyList<PrincipalActivity> principals)
    {
        json.WriteStartArray(name);
        foreach (var p in principals)
        {
            json.WriteStartObject();
            json.WriteString("name", p.Name);
            json.WriteNumber("calls", p.Calls);
            json.WriteNumber("allowed", p.Allowed);
            json.WriteNumber("refused", p.Refused);
            json.WriteNumber("shadow_refused", p.ShadowRefused);
            Counts(json, "refusals_by_error", p.RefusalsByError);
            json.WriteStartObject("approvals");
            json.WriteNumber("asked", p.ApprovalsAsked);
            json.WriteNumber("granted", p.ApprovalsGranted);
            json.WriteNumber("denied", p.ApprovalsDenied);
            json.WriteEndObject();
            json.WriteNumber("step_ups", p.StepUps);
            json.WriteNumber("risk_spent", p.RiskSpent);
            json.WriteStartObject("budget_exhausted");
            json.WriteNumber("steps", p.StepsExhausted);
            json.WriteNumber("risk", p.RiskExhausted);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void Counts(Utf8JsonWriter json, string name, IReadOnlyDictionary<string, long> counts)
    {
        json.WriteStartObject(name);
        foreach (var (key, value) in counts)
        {
            json.WriteNumber(key, value);
        }

        json.WriteEndObject();
    }

    private static void Time(Utf8JsonWriter json, string name, DateTimeOffset? time)
    {
        if (time is { } value)
        {
            json.WriteString(name, AuditEventSerializer.FormatTime(value));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
