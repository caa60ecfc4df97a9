using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http;

namespace Gateway.Approvals;

/// <summary>
/// The approval page and the pending list, for a person in a browser. Each is one HTML document with
/// its CSS and script inline, nothing loaded from anywhere, and a Content-Security-Policy that allows
/// exactly that script and style (by hash) and requests to this origin only. The document carries no
/// approval data: its script asks for the admin key (a password field, kept in memory only), calls the
/// JSON API with it in the Authorization header, and writes every value with <c>textContent</c>, so
/// nothing an agent put in a request can become markup. Header-only authentication also makes the
/// buttons immune to cross-site request forgery: another site can make a browser send a request, but
/// cannot add the key to it.
/// </summary>
internal static class ApprovalPage
{
    private const string Style = """
        :root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --warn: #9a3412; --ok: #116329; --bad: #a40e26; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f8fa; }
        main { max-width: 76rem; margin: 0 auto; padding: 1.25rem; }
        h1 { font-size: 1.1rem; margin: 0 0 1rem; color: var(--muted); font-weight: 600; }
        h2 { font-size: 1.6rem; margin: .25rem 0 .5rem; }
        h3 { font-size: .85rem; margin: .2rem 0 .4rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1.1rem; margin: 0 0 1rem; }
        .card > :first-child { margin-top: 0; }
        .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 0 1rem; align-items: start; }
        @media (max-width: 52rem) { .grid { grid-template-columns: 1fr; } }
        dl { display: grid; grid-template-columns: 8.5rem 1fr; gap: .25rem .9rem; margin: 0 0 .9rem; }
        dt { color: var(--muted); }
        dd { margin: 0; overflow-wrap: anywhere; }
        code, pre { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
        pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: .6rem; max-height: 16rem; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
        .badge { display: inline-block; padding: .1rem .55rem; border-radius: 999px; font-weight: 600; font-size: .85rem; background: #ddf4ff; }
        .badge.approved, .badge.used { background: #dafbe1; color: var(--ok); }
        .badge.denied, .badge.expired { background: #ffebe9; color: var(--bad); }
        .warn { color: var(--warn); font-weight: 700; }
        .alert { border-left: 4px solid var(--warn); background: #fff7ed; padding: .5rem .75rem; font-weight: 600; margin: .5rem 0; }
        .muted { color: var(--muted); font-size: .85rem; }
        label { display: block; font-weight: 600; margin: .5rem 0 .25rem; }
        input, textarea { width: 100%; font: inherit; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 6px; }
        textarea { min-height: 2.6rem; }
        .actions { display: flex; gap: .75rem; margin-top: .75rem; flex-wrap: wrap; }
        button { font: inherit; font-weight: 600; padding: .55rem 1.4rem; border-radius: 6px; border: 1px solid var(--line); background: #fff; cursor: pointer; }
        button.approve { background: var(--ok); border-color: var(--ok); color: #fff; }
        button.deny { background: #fff; border-color: var(--bad); color: var(--bad); }
        button:disabled { opacity: .45; cursor: not-allowed; }
        :focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
        table { width: 100%; border-collapse: collapse; background: #fff; }
        th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        ul { margin: 0; padding-left: 1.1rem; }
        [hidden] { display: none !important; }
        """;

    private const string Script = """
        "use strict";
        (function () {
          var app = document.getElementById("app");
          var page = app.getAttribute("data-page");
          var id = app.getAttribute("data-id");
          var key = "";
          var timer = null;
          function $(name) { return document.getElementById(name); }
          function text(name, value) { $(name).textContent = value === null || value === undefined ? "" : String(value); }
          function show(name, visible) { $(name).hidden = !visible; }
          function item(list, value) { var li = document.createElement("li"); li.textContent = value; list.appendChild(li); }
          function when(iso) { return iso ? new Date(iso).toLocaleString() : ""; }
          function clock(seconds) {
            seconds = Math.max(0, Math.floor(seconds));
            var m = Math.floor(seconds / 60), s = seconds % 60;
            return m + ":" + (s < 10 ? "0" : "") + s;
          }
          function call(method, path, body, extra) {
            var headers = { "Authorization": "Bearer " + key, "Accept": "application/json" };
            if (body !== undefined) { headers["Content-Type"] = "application/json"; }
            if (extra) { for (var h in extra) { headers[h] = extra[h]; } }
            return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store", credentials: "omit" })
              .then(function (response) {
                return response.json().catch(function () { return {}; }).then(function (json) { return { status: response.status, json: json }; });
              });
          }

          function renderDetail(a) {
            var now = Date.now();
            text("status", a.status);
            $("status").className = "badge " + a.status;
            text("headline", a.description || (a.action + " on " + a.resource));
            show("irreversible", a.irreversible);
            text("who", a.token.sub);
            text("agent", a.token.agent);
            text("chain", a.token.chain.length > 1 ? a.token.chain.join(" \u2190 ") : "direct (no delegation)");
            text("action", a.action);
            text("resource", a.resource);
            text("tier", a.tier);
            text("why", a.reason === "risk_budget" ? "the risk budget would be exceeded" : "the " + a.tier + " tier needs a human for every call");
            var blast = a.blast_radius;
            text("reversible", blast.irreversible ? "No \u2014 this cannot be undone" : "Yes, as far as the policy says");
            $("reversible").className = blast.irreversible ? "warn" : "";
            var risk = blast.risk + " points";
            if (blast.risk_remaining !== null && blast.risk_remaining !== undefined) {
              risk += "; " + blast.risk_remaining + " of " + blast.risk_limit + " left in the window, " + blast.risk_remaining_after + " after this call";
            }
            text("risk", risk);
            text("steps", blast.steps_remaining === null || blast.steps_remaining === undefined ? "not used yet" : blast.steps_remaining + " calls left");
            text("token-expiry", when(blast.token_expires_at));
            var grants = $("grants");
            grants.textContent = "";
            blast.grants.forEach(function (g) { item(grants, g.actions.join(", ") + " on " + g.resources.join(", ")); });
            text("call", a.request.method + " " + a.request.path);
            text("content-type", a.request.content_type || "none");
            text("length", a.request.body_length + " bytes");
            text("digest", a.request.body_sha256);
            if (a.request.preview) {
              text("preview", a.request.preview + (a.request.preview_truncated ? "\n\u2026 (cut)" : ""));
            } else {
              text("preview", a.request.body_length > 0 ? "No preview for this content type; only its digest is kept." : "No body.");
            }
            var rules = a.approvers;
            var needs = [];
            if (rules.step_up) { needs.push("a fresh approver token" + (rules.step_up.acr.length ? " (acr " + rules.step_up.acr.join(" or ") + ")" : "")); }
            if (!rules.self_approval) { needs.push("an approver token that is not the requester's"); }
            var who = rules.allowed.map(function (n) { return n === "admin" ? "any admin key" : n === "subject" ? "the requesting user" : "group " + n; });
            text("rules", "May approve: " + who.join(", ") + (needs.length ? ". Needs " + needs.join(" and ") + "." : "."));
            $("approver").open = needs.length > 0;
            var decided = a.decided_at ? (a.status === "denied" ? "Denied" : "Approved") + " " + when(a.decided_at) + " by key " + a.decided_by + (a.decided_by_subject ? " (" + a.decided_by_subject + ")" : "") + (a.note ? ": " + a.note : "") : "";
            text("decided", decided);
            show("decided", decided.length > 0);
            text("meta", "Approval " + a.id + " \u00b7 trace " + a.trace_id + " \u00b7 decision " + a.decision_id + " \u00b7 policy " + a.policy_sha256.substring(0, 12));
            var pending = a.status === "pending";
            show("decide", pending);
            var deadline = now + a.expires_in * 1000;
            if (timer) { clearInterval(timer); }
            function tick() {
              var left = (deadline - Date.now()) / 1000;
              text("countdown", pending ? (left > 0 ? "expires in " + clock(left) : "expired") : "");
              if (pending && left <= 0) { $("approve").disabled = true; $("deny").disabled = true; }
            }
            tick();
            timer = setInterval(tick, 1000);
            show("request", true);
          }

          function loadDetail() {
            return call("GET", "/approvals/" + encodeURIComponent(id)).then(function (r) {
              if (r.status === 401) { throw new Error("That admin key was not accepted."); }
              if (r.status !== 200) { throw new Error(r.json.detail || ("The gateway answered " + r.status + ".")); }
              renderDetail(r.json);
            });
          }

          function decide(approve) {
            var note = $("note").value.trim();
            var extra = {};
            var approverToken = $("approver-token").value.trim();
            if (approverToken) { extra["Approver-Token"] = approverToken; }
            $("approve").disabled = true; $("deny").disabled = true;
            text("result", approve ? "Approving\u2026" : "Denying\u2026");
            var body = approve ? { note: note || null } : { reason: note || null };
            call("POST", "/approvals/" + encodeURIComponent(id) + (approve ? "/approve" : "/deny"), body, extra).then(function (r) {
              if (r.status === 200) {
                text("result", approve ? "Approved. The agent may now retry this exact call once." : "Denied.");
                renderDetail(r.json);
              } else {
                text("result", r.json.detail || ("The gateway answered " + r.status + "."));
                $("approve").disabled = false; $("deny").disabled = false;
              }
            }, function () { text("result", "The gateway could not be reached."); $("approve").disabled = false; $("deny").disabled = false; });
          }

          function loadList() {
            return call("GET", "/approvals?status=pending").then(function (r) {
              if (r.status === 401) { throw new Error("That admin key was not accepted."); }
              if (r.status !== 200) { throw new Error(r.json.detail || ("The gateway answered " + r.status + ".")); }
              var rows = $("rows");
              rows.textContent = "";
              r.json.approvals.forEach(function (a) {
                var tr = document.createElement("tr");
                var first = document.createElement("td");
                var link = document.createElement("a");
                link.href = "/approvals/" + encodeURIComponent(a.id);
                link.textContent = a.description || (a.action + " on " + a.resource);
                first.appendChild(link);
                tr.appendChild(first);
                [a.sub + " via " + a.agent, a.tier + (a.irreversible ? ", irreversible" : ""), a.risk + " points", clock(a.expires_in)].forEach(function (v) {
                  var td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
                });
                rows.appendChild(tr);
              });
              show("empty", r.json.approvals.length === 0);
              show("list", true);
            });
          }

          $("unlock").addEventListener("submit", function (e) {
            e.preventDefault();
            key = $("key").value;
            text("unlock-error", "");
            (page === "detail" ? loadDetail() : loadList()).then(function () { show("unlock", false); }, function (err) { text("unlock-error", err.message); });
          });
          if (page === "detail") {
            $("decide").addEventListener("submit", function (e) { e.preventDefault(); decide(true); });
            $("deny").addEventListener("click", function () { decide(false); });
          }
          $("key").focus();
        })();
        """;

    private const string Unlock = """
        <form id="unlock" class="card" autocomplete="off">
          <label for="key">Admin key</label>
          <input id="key" name="key" type="password" required autocomplete="off" spellcheck="false">
          <div class="actions"><button type="submit">Show</button></div>
          <p id="unlock-error" role="alert" class="warn"></p>
        </form>
        """;

    private const string DetailBody = """
        <section id="request" hidden aria-live="polite">
          <div class="card">
            <p><span id="status" class="badge"></span> <span id="countdown" class="muted"></span></p>
            <h2 id="headline"></h2>
            <p id="irreversible" class="alert" hidden>Irreversible: once done, this cannot be undone.</p>
          </div>
          <div class="grid">
            <div class="card">
              <h3>Who</h3>
              <dl>
                <dt>User</dt><dd id="who"></dd>
                <dt>Agent</dt><dd id="agent"></dd>
                <dt>Chain</dt><dd id="chain"></dd>
              </dl>
              <h3>What</h3>
              <dl>
                <dt>Action</dt><dd id="action"></dd>
                <dt>Resource</dt><dd id="resource"></dd>
                <dt>Tier</dt><dd id="tier"></dd>
                <dt>Asked because</dt><dd id="why"></dd>
              </dl>
              <h3>Blast radius</h3>
              <dl>
                <dt>Reversible</dt><dd id="reversible"></dd>
                <dt>Risk</dt><dd id="risk"></dd>
                <dt>Token steps</dt><dd id="steps"></dd>
                <dt>Token expires</dt><dd id="token-expiry"></dd>
                <dt>Token may also</dt><dd><ul id="grants"></ul></dd>
              </dl>
            </div>
            <div>
              <div class="card">
                <h3>Request</h3>
                <p><code id="call"></code><br><span class="muted"><span id="content-type"></span>, <span id="length"></span></span></p>
                <pre id="preview"></pre>
                <p class="muted">Body SHA-256 <code id="digest"></code></p>
              </div>
              <p id="decided" class="card" hidden></p>
              <form id="decide" class="card" hidden>
                <p id="rules" class="muted"></p>
                <label for="note">Note (optional; a denial's is shown to the agent)</label>
                <textarea id="note" maxlength="500"></textarea>
                <details id="approver">
                  <summary>Approver token (step-up, or to name yourself)</summary>
                  <label for="approver-token">Your own fresh capability token, sent as the Approver-Token header</label>
                  <input id="approver-token" type="password" autocomplete="off" spellcheck="false">
                </details>
                <div class="actions">
                  <button id="approve" type="submit" class="approve">Approve</button>
                  <button id="deny" type="button" class="deny">Deny</button>
                </div>
              </form>
              <p id="result" role="status"></p>
            </div>
          </div>
          <p id="meta" class="muted"></p>
        </section>
        """;

    private const string ListBody = """
        <section id="list" hidden>
          <table>
            <thead><tr><th scope="col">What</th><th scope="col">Who</th><th scope="col">Tier</th><th scope="col">Risk</th><th scope="col">Expires in</th></tr></thead>
            <tbody id="rows"></tbody>
          </table>
          <p id="empty" class="muted" hidden>Nothing is waiting for a decision.</p>
        </section>
        """;

    private static readonly string ContentSecurityPolicy =
        $"default-src 'none'; script-src '{Hash(Script)}'; style-src '{Hash(Style)}'; connect-src 'self'; img-src 'none'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static IResult Detail(string id) =>
        new PageResult("Approval request", "detail", id, DetailBody);

    public static IResult List() => new PageResult("Pending approvals", "list", null, ListBody);

    private static string Hash(string text) => "sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private sealed class PageResult(string title, string page, string? id, string body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var html = HtmlEncoder.Default;
            var document = $"""
                <!doctype html>
                <html lang="en">
                <head>
                <meta charset="utf-8">
                <meta name="viewport" content="width=device-width, initial-scale=1">
                <meta name="referrer" content="no-referrer">
                <title>{html.Encode(title)} · Gateway</title>
                <style>{Style}</style>
                </head>
                <body>
                <main id="app" data-page="{html.Encode(page)}" data-id="{html.Encode(id ?? "")}">
                <h1>{html.Encode(title)}{(id is null ? "" : " " + html.Encode(id))}</h1>
                {Unlock}
                {body}
                </main>
                <script>{Script}</script>
                </body>
                </html>
                """;
            var response = httpContext.Response;
            response.ContentType = "text/html; charset=utf-8";
            var headers = response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.CacheControl = "no-store";
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            return response.WriteAsync(document, httpContext.RequestAborted);
        }
    }
}
