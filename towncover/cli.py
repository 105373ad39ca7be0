"""The ``towncover`` command: a thin face over geo/ and facilities/ (the app is the other face)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from towncover import settings
from towncover.errors import TowncoverError
from towncover.vocabulary import CRS_CHOICES

if TYPE_CHECKING:
    from facilities.pipeline import Analysis

EXPORT_FORMATS = ["geojson", "gpkg", "shp", "kml", "csv", "xlsx", "html"]
REPORT_SUFFIXES = (".xlsx", ".csv", ".json", ".docx", ".pdf")


def _columns(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        role, sep, header = pair.partition("=")
        if not sep or not role or not header:
            raise TowncoverError(
                f"--columns 应写作 角色=表头(如 address=详细地址),而不是“{pair}”",
                f"--columns takes role=header (e.g. address=详细地址), not '{pair}'",
            )
        out[role.strip()] = header.strip()
    return out


def _output(args: argparse.Namespace, suffixes: tuple[str, ...] | list[str],
            what: tuple[str, str] = ("输出文件", "output file")) -> Path:
    """The ``-o`` path, checked before any work: a file (not a folder, not ""), writable, not an input."""
    from towncover.files import output_path

    inputs = [getattr(args, name, None) for name in ("input", "boundaries", "population", "planned", "targets",
                                                     "corrections")]
    return output_path(args.output, inputs=inputs, suffixes=suffixes, what=what)


def _analyse(args: argparse.Namespace, *, with_plan: bool = True) -> Analysis:
    from facilities.pipeline import analyse

    plan = None
    if getattr(args, "targets", None):
        from facilities.targets import load_plan

        plan = load_plan(args.targets)
    path = Path(args.input)
    if not path.exists():
        raise TowncoverError(f"找不到文件 {path}", f"file not found: {path}")
    return analyse(path, args.region, columns=_columns(args.columns), crs=args.crs,
                   boundaries=args.boundaries, plan=plan, with_plan=with_plan)


def _summary_line(analysis: Analysis) -> str:
    s = analysis.summary()
    return (
        f"{analysis.region.full_name}({analysis.region.code}): 读取 {s['rows_read']} 行 / rows read, "
        f"matched {s['matched']}, ambiguous {s['ambiguous']}, unmatched {s['unmatched']}, "
        f"out_of_region {s['out_of_region']}, rejected {s['rejected']}, blank {s['blank']}"
    )


def _tell(analysis: Analysis, limit: int = 10) -> None:
    """Row summary, the sheet's cell problems (first ``limit``) and the analysis notes, on stderr."""
    print(_summary_line(analysis), file=sys.stderr)
    problems = analysis.sheet.problems
    if len(problems):
        print(f"表格问题 {len(problems)} 处 / {len(problems)} problems in the sheet "
              "(行仍被使用,见 match_note / the rows are still used, see match_note):", file=sys.stderr)
        for zh, en in problems[["message_zh", "message_en"]].head(limit).itertuples(index=False):
            print(f"  {zh} / {en}", file=sys.stderr)
        if len(problems) > limit:
            print(f"  …另有 {len(problems) - limit} 处 / {len(problems) - limit} more", file=sys.stderr)
    for note in analysis.notes:
        print(f"注意 / note: {note}", file=sys.stderr)


def cmd_regions(args: argparse.Namespace) -> int:
    from facilities.targets import list_plans
    from geo.boundaries import regions_with_maps

    table = regions_with_maps(all_counties=args.all)
    planned = {p.region_code for p in list_plans()}
    table = table.assign(plan=table["code"].isin(planned).map({True: "yes", False: ""}))
    print(table.to_string(index=False))
    return 0


def cmd_geocode(args: argparse.Namespace) -> int:
    from geo.tables import export_table

    out = _output(args, (".csv", ".xlsx"))
    analysis = _analyse(args, with_plan=False)
    columns = [c for c in analysis.placed.columns if c not in ("category_label",)]
    export_table(analysis.placed[columns], out, "xlsx" if out.suffix.lower() == ".xlsx" else "csv")
    _tell(analysis)
    print(f"已写出 / written: {out}", file=sys.stderr)
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    from facilities import coverage, evaluation, inputs

    if args.output is not None:
        out = _output(args, REPORT_SUFFIXES, ("报告", "report"))
        if out.suffix.lower() == ".csv":  # the report's second file, beside it
            _output(argparse.Namespace(**{**vars(args), "output": out.with_name(f"{out.stem}_units.csv")}), (),
                    ("报告", "report"))
    if bool(args.category) != bool(args.level) or (args.json and not args.category):
        raise TowncoverError("--category 和 --level 需要同时给出(--json 也需要两者)",
                             "--category and --level go together (and --json needs both)")
    analysis = _analyse(args)
    population = inputs.read_population(args.population) if args.population else None
    planned = inputs.read_planned(args.planned, analysis.region.code) if args.planned else None
    if args.category:
        result = coverage.measure_for_target(analysis, args.category, args.level)
        for note in result.notes:
            print(f"注意 / note: {note}", file=sys.stderr)
        if args.json:
            print(json.dumps(result.to_json(), ensure_ascii=False))
        else:
            print(f"{args.category} @ {args.level}: {result.covered}/{result.total} = {result.rate:.1f}%")
        if args.output is None:
            return 0
    if analysis.plan is None:
        raise TowncoverError(
            f"{analysis.region.full_name} 没有内置规划目标;请用 --targets 指定规划 YAML",
            f"no plan targets are built in for {analysis.region.code}; give one with --targets PLAN.yaml",
        )
    judged = evaluation.evaluate(analysis, population=population, planned=planned)
    _tell(analysis)
    print(judged.text())
    if args.output is not None and Path(args.output).suffix.lower() in (".docx", ".pdf"):
        from facilities.document import write_document

        write_document(judged, analysis, args.output, data_date=_file_date(args.input))
        print(f"已写出 / written: {args.output}", file=sys.stderr)
    elif args.output is not None:
        from facilities.report import write_report

        write_report(judged, args.output)
        print(f"已写出 / written: {args.output}", file=sys.stderr)
    return 0


def _file_date(path: str) -> str | None:
    """The day a file was last changed (the date a sheet's data stands at), as YYYY-MM-DD."""
    import datetime as dt

    try:
        return dt.date.fromtimestamp(Path(path).stat().st_mtime).isoformat()
    except OSError:
        return None


def cmd_export(args: argparse.Namespace) -> int:
    from facilities.coverage import measure_for_target
    from facilities.layers import build_layers, write_layers
    from geo.export import export_suffixes

    out = _output(args, export_suffixes(args.format, 1 if args.layer else 2))
    analysis = _analyse(args)
    if analysis.units is None:
        raise TowncoverError(
            f"{analysis.region.full_name} 没有内置地图;请用 --boundaries 提供乡镇边界",
            f"{analysis.region.code} has no built-in map; give township polygons with --boundaries",
        )
    layers = build_layers(analysis, measure_for_target(analysis, args.category, args.level))
    if args.layer:
        layers = {args.layer: layers[args.layer]}
    page = None
    if args.format == "html":  # the app's map, as one offline page
        from facilities.mapview import analysis_page

        page = analysis_page(analysis, args.category, args.level)
    path = write_layers(layers, out, args.format, encoding=args.encoding, schematic=analysis.schematic,
                        lang=args.lang, gcj02=args.gcj02, map_html=page)
    _tell(analysis)
    print(f"已写出 / written: {path}", file=sys.stderr)
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    command = [sys.executable, "-m", "towncover.serve", "--server.port", str(args.port),
               "--server.maxUploadSize", str(settings.MAX_UPLOAD_MB)]
    return subprocess.call(command)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="towncover", description="民政设施乡镇覆盖评估 / township coverage of civil-affairs facilities")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("regions", help="regions with maps / 有地图的区域")
    p.add_argument("--all", action="store_true", help="every county with an outline / 列出所有有县界的县级单位")
    p.set_defaults(func=cmd_regions)

    def sheet_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("input", help="facility sheet (.csv, .xlsx, .xls)")
        p.add_argument("-r", "--region", required=True, help="division code or name, e.g. 512021 or 安岳县")
        p.add_argument("--crs", choices=list(CRS_CHOICES), default=settings.DEFAULT_SHEET_CRS,
                       help="datum of the sheet's coordinates (default gcj02: copied from Amap)")
        p.add_argument("--boundaries", help="real township polygons (zipped Shapefile, GeoPackage, GeoJSON, KML)")
        p.add_argument("--columns", nargs="*", metavar="ROLE=HEADER", help="override column recognition")

    p = sub.add_parser("geocode", help="place every row on township and village codes")
    sheet_args(p)
    p.add_argument("-o", "--output", required=True, help="output .csv (UTF-8 with BOM) or .xlsx")
    p.set_defaults(func=cmd_geocode)

    p = sub.add_parser("coverage", help="measure the plan's targets")
    sheet_args(p)
    p.add_argument("--targets", help="plan YAML (default: the region's built-in plan)")
    p.add_argument("--population", help="population table (township code, population, elderly population)")
    p.add_argument("--planned", help="planned projects sheet (scenario)")
    p.add_argument("--category", help="category id, e.g. elderly_regional_centre")
    p.add_argument("--level", help="unit level, e.g. township_and_street")
    p.add_argument("--json", action="store_true", help="print one JSON object for --category/--level")
    p.add_argument("-o", "--output", help="report: .xlsx, .csv or .json (tables), .docx or .pdf (the evaluation document)")
    p.set_defaults(func=cmd_coverage)

    p = sub.add_parser("export", help="export map layers")
    sheet_args(p)
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument("--category", default="elderly_regional_centre", help="category shown on the township layer")
    p.add_argument("--level", default="township_and_street")
    p.add_argument("--encoding", default="UTF-8", choices=["UTF-8", "GBK"], help="Shapefile attribute encoding")
    p.add_argument("--layer", choices=["townships", "facilities"],
                   help="export one layer only (a .geojson or .csv file holds one layer; both go in a .zip)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of headers and values (default zh)")
    p.add_argument("--gcj02", action="store_true", help="also give facility points GCJ-02 (Amap) coordinates")
    p.add_argument("-o", "--output", required=True,
                   help="the file written, exactly: .gpkg .kml .xlsx .html; .zip for shp; .geojson/.csv for "
                        "one layer, .zip for both")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("app", help="start the Streamlit app")
    p.add_argument("--port", type=int, default=8501)
    p.set_defaults(func=cmd_app)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; unusable input exits 2 with a one-line message, never a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TowncoverError as exc:
        print(f"错误 / error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `towncover regions | head`: the reader left; nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - a planner gets one line; developers set TOWNCOVER_DEBUG=1
        if os.environ.get("TOWNCOVER_DEBUG"):
            raise
        print(f"内部错误 / internal error: {type(exc).__name__}: {exc} (TOWNCOVER_DEBUG=1 显示详情 / for details)",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
