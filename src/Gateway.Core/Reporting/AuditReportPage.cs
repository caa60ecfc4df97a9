using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace Gateway.Reporting;

/// <summary>
/// An <see cref="AuditReport"/> as one self-contained HTML page: inline CSS and SVG charts, no script, no
/// external resource, so it can be attached to a review ticket or opened from a CI artifact as it is.
/// </summary>
public static class AuditReportPage
{
    private const int ChartRows = 15;
    private const int BarWidth = 420;

    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    public static string Render(AuditReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var page = new StringBuilder(64 * 1024);
        page.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Gateway audit report</title>
            <style>
            body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
            header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#c6cbd6}
            main{padding:18px 28px;display:grid;grid-template-columns:repeat(auto-fit,minmax(620px,1fr));gap:18px}
            section{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:14px 18px}section.wide{grid-column:1/-1}
            h2{font-size:16px;margin:0 0 10px}
            .tiles{display:flex;gap:12px;flex-wrap:wrap}.tile{background:#f0f2f6;border-radius:6px;padding:8px 14px;min-width:110px}
            .tile b{display:block;font-size:20px}
            table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #eceef2;text-align:right}
            th:first-child,td:first-child{text-align:left}th{background:#f7f8fa;font-weight:600}td.errors{text-align:left;color:#5b6270;font-size:12px}
            svg text{font:12px system-ui,sans-serif;fill:#1d2330}.allow{fill:#2e9d5b}.deny{fill:#d64545}.shadow{fill:#e0a31b}.risk{fill:#4b6fd6}
            .legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;border-radius:2px}
            .empty{color:#5b6270}
            </style></head><body>
            """);
        page.Append("<header><h1>Gateway audit report</h1><p id=\"window\">").Append(Html.Encode(AuditReportWriter.Window(report)))
            .Append(" · ").Append(Html.Encode(string.Join(", ", report.Files.Select(Path.GetFileName)))).Append("</p></header><main>");

        page.Append("<section class=\"wide\" id=\"summary\"><h2>Summary</h2><div class=\"tiles\">");
        Tile(page, "calls", "Calls", report.Calls);
        Tile(page, "refused", "Refused", report.Agents.Sum(a => a.Refused));
        Tile(page, "shadow-refused", "Shadow refusals", report.Agents.Sum(a => a.ShadowRefused));
        Tile(page, "approvals-asked", "Approvals asked", report.Agents.Sum(a => a.ApprovalsAsked));
        Tile(page, "step-ups", "Step-ups", report.Agents.Sum(a => a.StepUps));
        Tile(page, "risk-spent", "Risk spent", report.Agents.Sum(a => a.RiskSpent));
        Tile(page, "unused-count", "Unused grants", report.UnusedGrants.Count);
        page.Append("</div></section>");

        var agents = report.Agents.Take(ChartRows).ToList();
        page.Append("<section id=\"chart-calls\"><h2>Calls per agent</h2><div class=\"legend\"><span class=\"allow\" style=\"background:#2e9d5b\"></span>allowed<span style=\"background:#e0a31b\"></span>shadow-refused<span style=\"background:#d64545\"></span>refused</div>");
        Bars(page, agents.Select(a => (a.Name, new[] { (a.Allowed, "allow"), (a.ShadowRefused, "shadow"), (a.Refused, "deny") })).ToList());
        page.Append("</section>");

        page.Append("<section id=\"chart-refusals\"><h2>Refusals by error</h2>");
        Bars(page, report.RefusalsByError.Take(ChartRows).Select(e => (e.Key, new[] { (e.Value, "deny") })).ToList());
        page.Append("</section>");

        page.Append("<section id=\"chart-risk\"><h2>Risk spent per agent</h2>");
        Bars(page, report.Agents.OrderByDescending(a => a.RiskSpent).Take(ChartRows).Select(a => (a.Name, new[] { (a.RiskSpent, "risk") })).ToList());
        page.Append("</section>");

        page.Append("<section id=\"chart-shadow\"><h2>Shadow-mode refusals per route</h2><p>What enforcing these routes would refuse.</p>");
        Bars(page, report.ShadowRefusals.Take(ChartRows).Select(s => (s.Route, new[] { (s.Count, "shadow") })).ToList());
        page.Append("</section>");

        Table(page, "agents", "Agents", report.Agents);
        Table(page, "users", "Users", report.Users);

        page.Append("<section class=\"wide\" id=\"unused-grants\"><h2>Unused grants</h2><p>")
            .Append(string.Create(CultureInfo.InvariantCulture, $"{report.UnusedGrants.Count} of {report.GrantsSeen}"))
            .Append(" (agent, action, resource) grants in tokens were never exercised in the window: where a quarterly review starts.</p>");
        if (report.UnusedGrants.Count == 0)
        {
            page.Append("<p class=\"empty\">None.</p>");
        }
        else
        {
            page.Append("<table><thead><tr><th>Agent</th><th style=\"text-align:left\">Action</th><th style=\"text-align:left\">Resource</th><th>Tokens</th><th>Users</th></tr></thead><tbody>");
            foreach (var grant in report.UnusedGrants)
            {
                page.Append("<tr><td>").Append(Html.Encode(grant.Agent)).Append("</td><td style=\"text-align:left\">").Append(Html.Encode(grant.Action))
                    .Append("</td><td style=\"text-align:left\">").Append(Html.Encode(grant.Resource)).Append("</td><td>").Append(Number(grant.Tokens))
                    .Append("</td><td>").Append(Number(grant.Users)).Append("</td></tr>");
            }

            page.Append("</tbody></table>");
        }

        page.Append("</section></main></body></html>\n");
        return page.ToString();
    }

    private static void Tile(StringBuilder page, string id, string label, long value) =>
        page.Append("<div class=\"tile\"><b id=\"").Append(id).Append("\">").Append(Number(value)).Append("</b>").Append(Html.Encode(label)).Append("</div>");

    /// <summary>Horizontal bars, one row per label, each bar a stack of segments scaled to the largest row.</summary>
    private static void Bars(StringBuilder page, List<(string Label, (long Value, string Css)[] Segments)> rows)
    {
        if (rows.Count == 0 || rows.All(r => r.Segments.Sum(s => s.Value) == 0))
        {
            page.Append("<p class=\"empty\">Nothing in this window.</p>");
            return;
        }

        const int labelWidth = 200;
        const int rowHeight = 22;
        var max = Math.Max(1, rows.Max(r => r.Segments.Sum(s => s.Value)));
        var height = (rows.Count * rowHeight) + 6;
        page.Append(string.Create(CultureInfo.InvariantCulture, $"<svg role=\"img\" style=\"width:100%;height:auto\" viewBox=\"0 0 {labelWidth + BarWidth + 70} {height}\">"));
        for (var i = 0; i < rows.Count; i++)
        {
            var (label, segments) = rows[i];
            var y = (i * rowHeight) + 3;
            var shown = label.Length > 28 ? label[..27] + "…" : label;
            page.Append(string.Create(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth - 6}\" y=\"{y + 14}\" text-anchor=\"end\"><title>")).Append(Html.Encode(label)).Append("</title>").Append(Html.Encode(shown)).Append("</text>");
            double x = labelWidth;
            foreach (var (value, css) in segments)
            {
                var width = value * (double)BarWidth / max;
                if (width > 0)
                {
                    page.Append(string.Create(CultureInfo.InvariantCulture, $"<rect class=\"{css}\" x=\"{x:0.#}\" y=\"{y}\" width=\"{Math.Max(1, width):0.#}\" height=\"{rowHeight - 6}\" rx=\"2\"><title>{value}</title></rect>"));
                    x += width;
                }
            }

            page.Append(string.Create(CultureInfo.InvariantCulture, $"<text x=\"{x + 6:0.#}\" y=\"{y + 14}\">{segments.Sum(s => s.Value)}</text>"));
        }

        page.Append("</svg>");
    }

    private static void Table(StringBuilder page, string id, string title, IReadOnlyList<PrincipalActivity> principals)
    {
        page.Append("<section class=\"wide\" id=\"").Append(id).Append("\"><h2>").Append(title).Append("</h2><table><thead><tr><th>")
            .Append(title[..^1]).Append("</th><th>Calls</th><th>Allowed</th><th>Refused</th><th>Shadow</th><th>Step-ups</th><th>Approvals asked</th><th>granted</th><th>denied</th><th>Risk spent</th><th>Steps out</th><th>Risk out</th><th style=\"text-align:left\">Refusals by error</th></tr></thead><tbody>");
        foreach (var p in principals)
        {
            page.Append("<tr><td>").Append(Html.Encode(p.Name)).Append("</td>");
            foreach (var value in new[] { p.Calls, p.Allowed, p.Refused, p.ShadowRefused, p.StepUps, p.ApprovalsAsked, p.ApprovalsGranted, p.ApprovalsDenied, p.RiskSpent, p.StepsExhausted, p.RiskExhausted })
            {
                page.Append("<td>").Append(Number(value)).Append("</td>");
            }

            page.Append("<td class=\"errors\">").Append(Html.Encode(AuditReportWriter.Errors(p.RefusalsByError))).Append("</td></tr>");
        }

        page.Append("</tbody></table></section>");
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
