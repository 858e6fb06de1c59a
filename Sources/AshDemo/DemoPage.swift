/// The page at `/`: issue a context, send a protected transfer, replay it,
/// send a tampered body. The proof is built in the page (canonical JSON and
/// WebCrypto SHA-256), as a browser client of the protocol would.
///
/// `/?autorun=1` runs the four steps by itself and writes what it saw into
/// `#outcome` as JSON (the browser test reads it).
enum DemoPage {
    static let html = #"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>ASH v1 demo: anti-replay transfer</title>
        <style>
          :root {
            --fg: #1d2330; --muted: #5d6677; --line: #d9dee7; --bg: #f6f7f9; --card: #fff;
            --accent: #2456c7; --ok: #17803d; --bad: #b3261e; --warn: #9a6700;
            font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
            color: var(--fg); background: var(--bg);
          }
          body { margin: 0; padding: 1.5rem; }
          main { max-width: 46rem; margin: 0 auto; display: grid; gap: 1rem; }
          h1 { font-size: 1.35rem; margin: 0; }
          h2 { font-size: 1rem; margin: 0 0 .75rem; }
          p.lead { margin: .25rem 0 0; color: var(--muted); font-size: .92rem; }
          section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; }
          dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: .75rem 0 0; font-size: .92rem; }
          dt { color: var(--muted); }
          dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
          .fields { display: flex; gap: 1rem; flex-wrap: wrap; margin-bottom: .75rem; }
          label { display: grid; gap: .25rem; font-size: .85rem; color: var(--muted); }
          input { font: inherit; color: var(--fg); padding: .4rem .55rem; border: 1px solid var(--line); border-radius: 6px; width: 10rem; }
          .actions { display: flex; gap: .5rem; flex-wrap: wrap; }
          button { font: inherit; font-size: .92rem; padding: .45rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
          button.secondary { background: #fff; color: var(--accent); }
          button:disabled { opacity: .55; cursor: progress; }
          table { width: 100%; border-collapse: collapse; font-size: .9rem; }
          th, td { text-align: left; padding: .45rem .4rem; border-top: 1px solid var(--line); vertical-align: top; }
          th { color: var(--muted); font-weight: 500; border-top: 0; }
          output { font-weight: 600; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
          output.match { color: var(--ok); }
          output.mismatch { color: var(--bad); }
          pre { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .8rem; white-space: pre-wrap; word-break: break-all; }
          td pre { color: var(--muted); }
          #log { max-height: 16rem; overflow: auto; background: var(--bg); border-radius: 6px; padding: .6rem; }
          #log .bad { color: var(--bad); }
          #log .ok { color: var(--ok); }
          #outcome:empty { display: none; }
          #outcome { margin-top: .75rem; padding: .6rem; background: var(--bg); border-radius: 6px; }
          .notice { color: var(--warn); font-size: .88rem; margin: .5rem 0 0; }
          .notice:empty { display: none; }
        </style>
        </head>
        <body>
        <main>
          <header>
            <h1>ASH v1 anti-replay demo</h1>
            <p class="lead">Every protected request carries a single-use context and a SHA-256 proof over the
              canonical body. The server accepts a request once, rejects a replay (409) and rejects a body
              that differs from what was proved (400).</p>
            <p class="notice" id="secure-notice"></p>
          </header>

          <section aria-labelledby="ctx-title">
            <h2 id="ctx-title">1. Context</h2>
            <div class="actions">
              <button type="button" id="btn-issue">Issue context</button>
            </div>
            <dl>
              <dt>Context id</dt><dd id="ctx-id">none</dd>
              <dt>Mode</dt><dd id="ctx-mode">-</dd>
              <dt>Nonce</dt><dd id="ctx-nonce">-</dd>
              <dt>Expires</dt><dd id="ctx-expires">-</dd>
              <dt>State</dt><dd id="ctx-state">-</dd>
            </dl>
          </section>

          <section aria-labelledby="transfer-title">
            <h2 id="transfer-title">2. Transfer</h2>
            <div class="fields">
              <label>To <input id="field-to" type="text" value="alice" autocomplete="off"></label>
              <label>Amount <input id="field-amount" type="number" value="25" step="any"></label>
            </div>
            <div class="actions">
              <button type="button" id="btn-send">Send transfer</button>
              <button type="button" id="btn-replay" class="secondary">Replay</button>
              <button type="button" id="btn-tamper" class="secondary">Send tampered</button>
            </div>
          </section>

          <section aria-labelledby="results-title">
            <h2 id="results-title">3. Results</h2>
            <table>
              <thead><tr><th>Request</th><th>Expected</th><th>Status</th><th>Response body</th></tr></thead>
              <tbody>
                <tr><td>Transfer</td><td>200</td><td><output id="result-transfer" data-expected="200"></output></td><td><pre id="body-transfer"></pre></td></tr>
                <tr><td>Replay</td><td>409</td><td><output id="result-replay" data-expected="409"></output></td><td><pre id="body-replay"></pre></td></tr>
                <tr><td>Tampered</td><td>400</td><td><output id="result-tamper" data-expected="400"></output></td><td><pre id="body-tamper"></pre></td></tr>
              </tbody>
            </table>
            <pre id="outcome"></pre>
          </section>

          <section aria-labelledby="log-title">
            <h2 id="log-title">Log</h2>
            <pre id="log" aria-live="polite"></pre>
          </section>
        </main>

        <!-- BEGIN ash-proof: ASH v1 canonicalization + proof. No DOM access, so
             check-proof.mjs can extract this block and run it under Node against the
             protocol's test vectors. Keep it self-contained. -->
        <script id="ash-proof">
        "use strict";
        const AshProof = (() => {
          class CanonicalizationError extends Error {
            constructor(message) {
              super(message);
              this.name = "CanonicalizationError";
              this.code = "ASH_CANONICALIZATION_FAILED";
            }
          }

          // Serializes a JSON.parse-shaped value to ASH canonical JSON.
          function canonicalizeJson(value) {
            if (value === null) return "null";
            switch (typeof value) {
              case "string":
                // JSON.stringify is the normative escaper (short escapes, \u00xx for
                // other controls, lone surrogates as \udxxx, everything else raw).
                return JSON.stringify(value.normalize("NFC"));
              case "boolean":
                return value ? "true" : "false";
              case "number":
                if (Number.isNaN(value)) throw new CanonicalizationError("NaN values are not allowed");
                if (!Number.isFinite(value)) throw new CanonicalizationError("Infinity values are not allowed");
                // String() gives JavaScript's shortest round-trip form and maps -0 to "0".
                return String(value);
              case "object":
                break;
              case "undefined":
                throw new CanonicalizationError("undefined values are not allowed");
              default:
                throw new CanonicalizationError(`Unsupported type: ${typeof value}`);
            }
            if (Array.isArray(value)) return "[" + value.map(canonicalizeJson).join(",") + "]";

            // Objects. Like the reference, walk the raw keys in UTF-16 order (the
            // default sort) and NFC each one; keys that become equal after NFC collapse
            // to the one that sorts later. Values are serialized eagerly so an invalid
            // value is rejected even when its key loses such a collision.
            const members = new Map();
            for (const rawKey of Object.keys(value).sort()) {
              const member = value[rawKey];
              if (member === undefined) continue; // JSON.stringify omits these too
              const key = rawKey.normalize("NFC");
              const text = canonicalizeJson(member);
              // The reference assigns into a plain object, where "__proto__" sets the
              // prototype instead of adding a key, so that member never appears.
              if (key === "__proto__") continue;
              members.set(key, text);
            }
            const keys = [...members.keys()].sort();
            return "{" + keys.map((k) => JSON.stringify(k) + ":" + members.get(k)).join(",") + "}";
          }

          function decodeComponent(text) {
            try {
              return decodeURIComponent(text);
            } catch (e) {
              throw new CanonicalizationError(`Malformed percent-encoding: ${e.message}`);
            }
          }

          function encodeComponent(text) {
            try {
              return encodeURIComponent(text);
            } catch (e) {
              throw new CanonicalizationError(`Cannot encode component: ${e.message}`);
            }
          }

          // Canonicalizes a raw application/x-www-form-urlencoded body.
          function canonicalizeUrlEncoded(input) {
            const pairs = [];
            for (const part of String(input).split("&")) {
              if (part === "") continue;
              const spaced = part.replace(/\+/g, " ");
              const eq = spaced.indexOf("=");
              const key = decodeComponent(eq === -1 ? spaced : spaced.slice(0, eq));
              const val = eq === -1 ? "" : decodeComponent(spaced.slice(eq + 1));
              if (key !== "") pairs.push([key.normalize("NFC"), val.normalize("NFC")]);
            }
            // Array.prototype.sort is stable, so duplicate keys keep their value order.
            pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
            return pairs.map(([k, v]) => encodeComponent(k) + "=" + encodeComponent(v)).join("&");
          }

          // The exact pre-image that is hashed; an empty or missing nonce is absent.
          function buildProofInput({ mode, binding, contextId, nonce, canonicalPayload }) {
            let text = "ASHv1\n" + mode + "\n" + binding + "\n" + contextId + "\n";
            if (typeof nonce === "string" && nonce !== "") text += nonce + "\n";
            return text + canonicalPayload;
          }

          function base64UrlNoPad(bytes) {
            let binary = "";
            for (const b of bytes) binary += String.fromCharCode(b);
            return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
          }

          async function buildProof(input) {
            const subtle = globalThis.crypto && globalThis.crypto.subtle;
            if (!subtle) {
              // Browsers expose WebCrypto only in secure contexts (https, localhost, 127.0.0.1).
              throw new Error("WebCrypto (crypto.subtle) is unavailable: open this page over https or via http://127.0.0.1 / http://localhost");
            }
            const data = new TextEncoder().encode(buildProofInput(input));
            const digest = await subtle.digest("SHA-256", data);
            return base64UrlNoPad(new Uint8Array(digest));
          }

          return Object.freeze({
            CanonicalizationError,
            canonicalizeJson,
            canonicalizeUrlEncoded,
            buildProofInput,
            buildProof,
          });
        })();
        </script>
        <!-- END ash-proof -->

        <script id="ash-demo">
        "use strict";
        const AshDemo = (() => {
          const BINDING = "POST /api/transfer";
          const CONTEXT_URL = "/ash/context";
          const TRANSFER_URL = "/api/transfer";
          const TAMPER_DELTA = 1000;

          const $ = (id) => document.getElementById(id);
          const state = { ctx: null, last: null };

          function log(message, kind) {
            const line = document.createElement("span");
            if (kind) line.className = kind;
            line.textContent = `${new Date().toISOString().slice(11, 23)}  ${message}\n`;
            const box = $("log");
            box.appendChild(line);
            box.scrollTop = box.scrollHeight;
          }

          function renderContext() {
            const ctx = state.ctx;
            if (!ctx) return;
            const id = ctx.contextId;
            $("ctx-id").textContent = id.length > 10 ? id.slice(0, 10) + "\u2026" : id;
            $("ctx-id").title = id;
            $("ctx-mode").textContent = ctx.mode;
            $("ctx-nonce").textContent = ctx.nonce ? "yes" : "no";
            $("ctx-expires").textContent = Number.isFinite(ctx.expiresAt) ? new Date(ctx.expiresAt).toLocaleTimeString() : "-";
            $("ctx-state").textContent = ctx.used ? "used (next send issues a new one)" : "unused";
          }

          // POSTs and returns {status, text}; the body is read as text so non-JSON
          // error pages are still shown.
          async function post(url, headers, body) {
            const response = await fetch(url, { method: "POST", headers, body, cache: "no-store", credentials: "same-origin" });
            return { status: response.status, text: await response.text() };
          }

          function parseJson(text) {
            try { return JSON.parse(text); } catch { return undefined; }
          }

          function showResult(name, res) {
            const out = $(`result-${name}`);
            out.textContent = String(res.status);
            out.dataset.status = String(res.status);
            out.className = out.dataset.expected === String(res.status) ? "match" : "mismatch";
            $(`body-${name}`).textContent = res.text;
          }

          function showFailure(name, error) {
            const out = $(`result-${name}`);
            out.textContent = "error";
            out.dataset.status = "";
            out.className = "mismatch";
            $(`body-${name}`).textContent = error.message;
          }

          function readTransfer() {
            const to = $("field-to").value;
            const amount = Number($("field-amount").value);
            if ($("field-amount").value.trim() === "" || !Number.isFinite(amount)) {
              throw new Error("amount must be a finite number");
            }
            return { to, amount };
          }

          async function issueContext() {
            const res = await post(CONTEXT_URL, { "content-type": "application/json" }, JSON.stringify({ binding: BINDING }));
            const info = parseJson(res.text);
            if (res.status !== 200 || !info || typeof info.contextId !== "string" || typeof info.mode !== "string") {
              throw new Error(`context issuance failed: HTTP ${res.status} ${res.text}`);
            }
            state.ctx = { contextId: info.contextId, mode: info.mode, expiresAt: info.expiresAt, nonce: info.nonce || null, used: false };
            renderContext();
            log(`issued context ${info.contextId} (mode ${info.mode}, nonce ${info.nonce ? "yes" : "no"})`);
            return state.ctx;
          }

          // Proves `provedBody` (JSON text) the way the server will: parse, canonicalize, hash.
          async function protectedHeaders(ctx, provedBody) {
            const canonicalPayload = AshProof.canonicalizeJson(JSON.parse(provedBody));
            const proof = await AshProof.buildProof({
              mode: ctx.mode, binding: BINDING, contextId: ctx.contextId, nonce: ctx.nonce, canonicalPayload,
            });
            return { "content-type": "application/json", "x-ash-context-id": ctx.contextId, "x-ash-proof": proof };
          }

          // A context is single-use: reuse the current one only if nothing was sent with it.
          async function freshContext() {
            return state.ctx && !state.ctx.used ? state.ctx : issueContext();
          }

          async function sendTransfer() {
            const body = JSON.stringify(readTransfer());
            const ctx = await freshContext();
            const headers = await protectedHeaders(ctx, body);
            ctx.used = true;
            renderContext();
            state.last = { headers, body };
            const res = await post(TRANSFER_URL, headers, body);
            showResult("transfer", res);
            log(`transfer ${body} -> ${res.status}`, res.status === 200 ? "ok" : "bad");
            return res.status;
          }

          async function replayLast() {
            if (!state.last) throw new Error("nothing to replay: send a transfer first");
            const { headers, body } = state.last;
            const res = await post(TRANSFER_URL, headers, body);
            showResult("replay", res);
            log(`replay of ${body} -> ${res.status}`, res.status === 409 ? "ok" : "bad");
            return res.status;
          }

          // Proves the body as shown in the form, then sends a different amount, as
          // an attacker rewriting the request in flight would.
          async function sendTampered() {
            const shown = readTransfer();
            const provedBody = JSON.stringify(shown);
            const sentBody = JSON.stringify({ ...shown, amount: shown.amount + TAMPER_DELTA });
            const ctx = await issueContext();
            const headers = await protectedHeaders(ctx, provedBody);
            ctx.used = true;
            renderContext();
            const res = await post(TRANSFER_URL, headers, sentBody);
            showResult("tamper", res);
            log(`tampered: proved ${provedBody}, sent ${sentBody} -> ${res.status}`, res.status === 400 ? "ok" : "bad");
            return res.status;
          }

          async function autorun() {
            const outcome = $("outcome");
            try {
              await issueContext();
              const transfer = await sendTransfer();
              const replay = await replayLast();
              const tamper = await sendTampered();
              outcome.textContent = JSON.stringify({ transfer, replay, tamper });
            } catch (e) {
              outcome.textContent = JSON.stringify({ error: String((e && e.message) || e) });
              log(`autorun failed: ${(e && e.message) || e}`, "bad");
            } finally {
              document.body.dataset.done = "true";
            }
          }

          const buttons = ["btn-issue", "btn-send", "btn-replay", "btn-tamper"];

          // Buttons are disabled while one action runs so clicks cannot interleave.
          function bind(buttonId, action, resultName) {
            $(buttonId).addEventListener("click", async () => {
              buttons.forEach((id) => { $(id).disabled = true; });
              try {
                await action();
              } catch (e) {
                if (resultName) showFailure(resultName, e);
                log(`error: ${e.message}`, "bad");
              } finally {
                buttons.forEach((id) => { $(id).disabled = false; });
              }
            });
          }

          bind("btn-issue", issueContext, null);
          bind("btn-send", sendTransfer, "transfer");
          bind("btn-replay", replayLast, "replay");
          bind("btn-tamper", sendTampered, "tamper");

          if (!window.isSecureContext || !(window.crypto && window.crypto.subtle)) {
            $("secure-notice").textContent =
              "This page is not a secure context, so WebCrypto is unavailable and proofs cannot be computed. " +
              "Open it over https or via http://127.0.0.1 / http://localhost.";
          }

          if (new URLSearchParams(location.search).get("autorun") === "1") autorun();

          return Object.freeze({ issueContext, sendTransfer, replayLast, sendTampered, autorun });
        })();
        </script>
        </body>
        </html>
        """#
}
