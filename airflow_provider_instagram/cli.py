"""The ``airflow-instagram`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from airflow_provider_instagram.account.extras import DEFAULT_APP_CONN_ID


def _add_emulator(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "emulator",
        help="run the Instagram API emulator on loopback",
        description="Serve a local Instagram API (Graph, OAuth, CDN and a /_emulator/ control API). "
        "Prints one JSON line with the base URLs, the app credentials and each seeded account's token.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default 0)")
    parser.add_argument("--accounts", type=int, default=2, help="seeded accounts (default 2)")
    parser.add_argument("--media", type=int, default=30, help="media per account (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")
    parser.add_argument("--api", choices=["instagram_login", "basic_display"], default="instagram_login")
    parser.add_argument("--flat-token-response", action="store_true", help="flat code-exchange answer")
    parser.add_argument("--auto-consent", action="store_true", help="authorize without the consent page")
    parser.add_argument("--redirect-uri", action="append", help="registered redirect URI (repeatable)")
    parser.add_argument("--no-media-cap", action="store_true", help="lift the 10,000-media cap (benchmarks)")
    parser.add_argument("--rate-limit-budget", type=int, default=4_800, help="calls per window; 0 disables")
    parser.add_argument("--token-age", type=int, default=0, help="age in seconds of the seeded tokens")
    parser.add_argument("--anchor", type=int, default=None, help="Unix time of the newest media")
    parser.add_argument("--faults", default=None, help="JSON list of fault rules active from the start")


def _run_emulator(args: argparse.Namespace) -> int:
    try:
        from airflow_provider_instagram.emulator import EmulatorConfig, serve_forever
    except ImportError as exc:  # starlette/uvicorn come with Airflow; name the extra anyway
        print(f"the emulator needs starlette and uvicorn: pip install 'airflow-provider-instagram[emulator]' ({exc})")
        return 2
    try:
        config = EmulatorConfig(
            seed=args.seed,
            accounts=args.accounts,
            media=args.media,
            api=args.api,
            flat_token_response=args.flat_token_response,
            auto_consent=args.auto_consent,
            media_edge_cap=None if args.no_media_cap else 10_000,
            rate_limit_budget=args.rate_limit_budget or None,
            token_age=args.token_age,
            anchor=args.anchor,
            faults=json.loads(args.faults) if args.faults else [],
            **({"redirect_uris": args.redirect_uri} if args.redirect_uri else {}),
        )
        serve_forever(config, host=args.host, port=args.port)
    except (ValueError, OSError) as exc:
        print(f"airflow-instagram emulator: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


def _run_tokens(args: argparse.Namespace) -> int:
    from airflow_provider_instagram.clock import utcnow
    from airflow_provider_instagram.exceptions import TokenStoreError
    from airflow_provider_instagram.tokens.report import HealthReport
    from airflow_provider_instagram.tokens.store import AirflowApiTokenStore

    try:
        listing = AirflowApiTokenStore(args.api_conn_id).list_accounts()
    except TokenStoreError as exc:
        print(f"airflow-instagram tokens: {exc}", file=sys.stderr)
        return 2
    report = HealthReport.of_listing(listing, utcnow(), args.warn_days)
    print(json.dumps(report.to_xcom(), indent=2) if args.json else f"{report.table()}\n\n{report.summary()}")
    return 1 if report.attention() else 0


def _add_connect(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "connect",
        help="connect an Instagram account and save it as an Airflow connection",
        description="Prints the authorization URL (and opens a browser), catches the redirect on a one-shot "
        "listener when the redirect URI is http://127.0.0.1:<port>/..., or asks for the URL the browser landed "
        "on, runs the chain to a long-lived token, reads the profile, and creates or updates the connection "
        "through Airflow's REST API. The app secret comes from the app connection or $INSTAGRAM_CLIENT_SECRET.",
    )
    parser.add_argument("--conn-id", required=True, help="the account's connection to create or update")
    parser.add_argument("--app-conn-id", default=DEFAULT_APP_CONN_ID,
                        help="connection holding the Instagram app: login = app id, password = app secret, "
                             f"extra redirect_uri (default {DEFAULT_APP_CONN_ID}); '' to give every setting below",
                        )  # fmt: skip
    parser.add_argument("--client-id", help="Instagram app id (overrides the app connection's)")
    parser.add_argument("--redirect-uri", help="redirect URI registered for the app")
    parser.add_argument("--graph-url", help="Graph API base URL (default https://graph.instagram.com)")
    parser.add_argument("--oauth-url", help="OAuth base URL (default https://api.instagram.com)")
    parser.add_argument("--authorize-url", help="authorization window URL")
    parser.add_argument("--api", choices=["instagram_login", "basic_display"], help="which Instagram API")
    parser.add_argument("--scope", action="append", default=[], help="scope to ask for (repeatable)")
    parser.add_argument("--redirect-url", help="a redirect URL (or bare code) you already have: skips the window")
    parser.add_argument("--no-browser", action="store_true", help="only print the authorization URL")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the redirect (300)")
    parser.add_argument("--api-conn-id", default="airflow_api_default", help="connection to the Airflow REST API")


def _run_connect(args: argparse.Namespace) -> int:
    from airflow_provider_instagram.airflow_api import AirflowApiClient
    from airflow_provider_instagram.exceptions import InstagramError
    from airflow_provider_instagram.onboarding.terminal import ConnectRequest, app_settings_from_flags, connect

    app = app_settings_from_flags(
        client_id=args.client_id, redirect_uri=args.redirect_uri, host=args.graph_url, oauth_url=args.oauth_url,
        authorize_url=args.authorize_url, api=args.api,
    )  # fmt: skip
    request = ConnectRequest(
        conn_id=args.conn_id, app_conn_id=args.app_conn_id or None, app=app, redirect=args.redirect_url,
        scopes=tuple(args.scope), open_browser=not args.no_browser, timeout=args.timeout,
    )  # fmt: skip
    try:
        connect(request, AirflowApiClient.from_connection(args.api_conn_id), say=lambda line: print(line, flush=True))
    except InstagramError as exc:  # every provider error names the problem and the fix, never a secret
        print(f"airflow-instagram connect: {exc}", file=sys.stderr)
        return 1
    except (EOFError, KeyboardInterrupt):
        print("airflow-instagram connect: cancelled; nothing was saved", file=sys.stderr)
        return 1
    return 0


BUNDLE_HELP = """\
Prints the folder of the installed package that holds the bundled DAG files.

To have Airflow parse them there instead of copies made by 'dags install', add
a LocalDagBundle at that folder to [dag_processor] dag_bundle_config_list (in
the configuration of every Airflow component: the DAG processor parses the
bundle, workers load the DAG from it), keeping the default dags-folder bundle:

  [dag_processor]
  dag_bundle_config_list = [
      {"name": "dags-folder",
       "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
       "kwargs": {}},
      {"name": "instagram",
       "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
       "kwargs": {"path": "<the folder this command prints>"}}
    ]

or the same JSON in AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST. Use one
way, not both: with the files in two bundles Airflow reports no error, and
whichever bundle it parsed last owns the DAGs.
"""


def _add_dags(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "dags",
        help="the bundled DAGs (token refresh, media export, data deletion): install them or locate them",
        description="The three bundled DAGs are thin files over the provider's factories, shipped in the package. "
        "Either copy them into your DAG folder with 'dags install', or declare the folder 'dags path' prints as "
        "an extra LocalDagBundle in [dag_processor] dag_bundle_config_list.",
    )
    action = parser.add_subparsers(dest="dags_command", required=True)
    install = action.add_parser(
        "install",
        help="copy the bundled DAG files into a DAG folder",
        description="Copies instagram_token_refresh.py, instagram_media_export.py and instagram_data_deletion.py "
        "into FOLDER (created if missing). Identical files are left alone; a file that differs is only "
        "overwritten with --force (otherwise nothing is written).",
    )
    install.add_argument("folder", help="the DAG folder, usually $AIRFLOW_HOME/dags ([core] dags_folder)")
    install.add_argument("--force", action="store_true", help="overwrite files that differ from the packaged ones")
    action.add_parser(
        "path",
        help="print the folder holding the packaged DAG files (for a DAG bundle)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=BUNDLE_HELP,
    )


def _run_dags(args: argparse.Namespace) -> int:
    from airflow_provider_instagram import dag_files

    try:
        if args.dags_command == "path":
            print(dag_files.packaged_dags_folder())
            return 0
        done = dag_files.install(args.folder, force=args.force)
    except (dag_files.DagFilesError, OSError) as exc:
        print(f"airflow-instagram dags {args.dags_command}: {exc}", file=sys.stderr)
        return 1
    for item in done:
        print(f"{item.action:9}  {item.path}")
    print(f"Airflow parses them if {done[0].path.parent} is its [core] dags_folder (or a DAG bundle's path).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airflow-instagram", description="Instagram provider for Apache Airflow")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_emulator(sub)
    _add_connect(sub)
    _add_dags(sub)
    tokens = sub.add_parser(
        "tokens",
        help="show the token health of every instagram connection",
        description="Lists every connection of type instagram through Airflow's REST API and prints its token "
        "health: username, expiry, days left, status, last refresh. Exits 1 when an account needs attention.",
    )
    tokens.add_argument("--api-conn-id", default="airflow_api_default", help="connection to the Airflow REST API")
    tokens.add_argument("--warn-days", type=float, default=7.0, help="call out tokens expiring this soon (default 7)")
    tokens.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    demo = sub.add_parser(
        "demo",
        help="run the whole job on a throwaway local Airflow against the emulator",
        description="Starts the emulator and a throwaway Airflow (SQLite), onboards the accounts through the token "
        "chain, runs the export with the warehouse load and the token refresh, and prints the results.",
    )
    demo.add_argument("--accounts", type=int, default=3, help="seeded accounts to onboard (default 3)")
    demo.add_argument("--media", type=int, default=40, help="media per account (default 40)")
    demo.add_argument(
        "--output", default="instagram-demo", help="folder for everything the demo writes (default ./instagram-demo)"
    )
    demo.add_argument(
        "--keep-running",
        action="store_true",
        help="leave Airflow running afterwards and print its URL and login, to look at its UI",
    )
    demo.add_argument("--stop", action="store_true", help="stop the Airflow a --keep-running demo left under --output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "emulator":
        return _run_emulator(args)
    if args.command == "tokens":
        return _run_tokens(args)
    if args.command == "connect":
        return _run_connect(args)
    if args.command == "dags":
        return _run_dags(args)
    if args.command == "demo":
        from airflow_provider_instagram.demo import run_demo, stop_demo

        if args.stop:
            return stop_demo(args.output)
        return run_demo(accounts=args.accounts, media=args.media, output=args.output, keep_running=args.keep_running)
    return 2


if __name__ == "__main__":
    sys.exit(main())
