import Foundation

/// One line of a chart: points (x, y), a name for the legend, and how it is drawn.
public struct Series: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    /// Dashed, with a marker at each point (validation), or a plain line (training).
    public var dashed: Bool
    /// Index into the palette; series of one run share it.
    public var color: Int

    public init(name: String, points: [(x: Double, y: Double)], dashed: Bool = false, color: Int = 0) {
        self.name = name; self.points = points; self.dashed = dashed; self.color = color
    }
}

/// A line chart as SVG: axes with ticks, labels and units, a grid, a legend.
public struct LineChart {
    public var title: String
    public var xLabel: String, yLabel: String
    public var series: [Series]
    public var width = 760.0, height = 460.0
    /// A logarithmic y axis (perplexity, losses over orders of magnitude).
    public var logY = false

    /// Okabe–Ito colours, distinguishable with colour blindness.
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
    }

    /// The chart as a standalone SVG document.
    public func svg() -> String {
        let left = 78.0, right = 24.0, top = 44.0, bottom = 56.0
        let plotW = width - left - right, plotH = height - top - bottom
        let finite = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
        let xs = finite.map(\.x), ys = finite.map { logY ? log10($0.y) : $0.y }
        let xt = Ticks(xs.min() ?? 0, xs.max() ?? 1), yt = Ticks(ys.min() ?? 0, ys.max() ?? 1, count: 5)
        func px(_ x: Double) -> Double { left + (x - xt.low) / (xt.high - xt.low) * plotW }
        func py(_ y: Double) -> Double { top + plotH - ((logY ? log10(y) : y) - yt.low) / (yt.high - yt.low) * plotH }
        func f(_ v: Double) -> String { String(format: "%.2f", v) }

        var out = [String]()
        out.append(##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(f(width))" height="\##(f(height))" viewBox="0 0 \##(f(width)) \##(f(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">"##)
        out.append(##"<rect width="100%" height="100%" fill="white"/>"##)
        out.append(##"<text x="\##(f(width / 2))" y="26" text-anchor="middle" font-size="16" font-weight="bold">\##(escape(title))</text>"##)
        // grid and ticks
        for v in xt.values {
            let x = px(v)
            out.append(##"<line x1="\##(f(x))" y1="\##(f(top))" x2="\##(f(x))" y2="\##(f(top + plotH))" stroke="#e4e4e4"/>"##)
            out.append(##"<text x="\##(f(x))" y="\##(f(top + plotH + 18))" text-anchor="middle">\##(xt.label(v))</text>"##)
        }
        for v in yt.values {
            let y = top + plotH - (v - yt.low) / (yt.high - yt.low) * plotH
            out.append(##"<line x1="\##(f(left))" y1="\##(f(y))" x2="\##(f(left + plotW))" y2="\##(f(y))" stroke="#e4e4e4"/>"##)
            let label = logY ? Ticks.plain(pow(10, v)) : yt.label(v)
            out.append(##"<text x="\##(f(left - 8))" y="\##(f(y + 4))" text-anchor="end">\##(label)</text>"##)
        }
        out.append(##"<rect x="\##(f(left))" y="\##(f(top))" width="\##(f(plotW))" height="\##(f(plotH))" fill="none" stroke="#444"/>"##)
        out.append(##"<text x="\##(f(left + plotW / 2))" y="\##(f(height - 14))" text-anchor="middle">\##(escape(xLabel))</text>"##)
        out.append(##"<text transform="translate(18 \##(f(top + plotH / 2))) rotate(-90)" text-anchor="middle">\##(escape(yLabel))</text>"##)
        // lines
        out.append(##"<g fill="none" stroke-width="1.6" stroke-linejoin="round">"##)
        for s in series {
            let color = Self.palette[s.color % Self.palette.count]
            let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
            guard !pts.isEmpty else { continue }
            let path = pts.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            out.append(##"<polyline points="\##(path)" stroke="\##(color)"\##(s.dashed ? ##" stroke-dasharray="6 4""## : "")/>"##)
            if s.dashed || pts.count == 1 {
                for p in pts { out.append(##"<circle cx="\##(f(px(p.x)))" cy="\##(f(py(p.y)))" r="3" fill="\##(color)" stroke="none"/>"##) }
            }
        }
        out.append("</g>")
        // legend: the inside corner of the plot that covers the fewest points
        let rowH = 18.0, legendW = min(320, 26 + 7.2 * Double(series.map(\.name.count).max() ?? 0))
        let legendH = rowH * Double(series.count) + 8
        var placed = [(Double, Double)]()  // every point, and points along each line between them
        for s in series {
            let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }.map { (px($0.x), py($0.y)) }
            placed += pts
            for (a, b) in zip(pts, pts.dropFirst()) {
                for k in 1..<8 { let t = Double(k) / 8; placed.append((a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t)) }
            }
        }
        let corners = [(left + plotW - legendW - 8, top + 8), (left + 8, top + 8),
                       (left + plotW - legendW - 8, top + plotH - legendH - 8), (left + 8, top + plotH - legendH - 8)]
        let (lx, ly) = corners.min { a, b in
            func covered(_ c: (Double, Double)) -> Int {
                placed.filter { $0.0 >= c.0 - 4 && $0.0 <= c.0 + legendW + 4 && $0.1 >= c.1 - 4 && $0.1 <= c.1 + legendH + 4 }.count
            }
            return covered(a) < covered(b)
        }!
        if !series.isEmpty {
            out.append(##"<rect x="\##(f(lx))" y="\##(f(ly))" width="\##(f(legendW))" height="\##(f(legendH))" fill="white" fill-opacity="0.85" stroke="#bbb"/>"##)
        }
        for (i, s) in series.enumerated() {
            let y = ly + 4 + rowH * Double(i) + rowH / 2, color = Self.palette[s.color % Self.palette.count]
            out.append(##"<line x1="\##(f(lx + 6))" y1="\##(f(y))" x2="\##(f(lx + 22))" y2="\##(f(y))" stroke="\##(color)" stroke-width="2"\##(s.dashed ? ##" stroke-dasharray="4 3""## : "")/>"##)
            out.append(##"<text x="\##(f(lx + 28))" y="\##(f(y + 4))">\##(escape(s.name))</text>"##)
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

extension Ticks {
    /// A value for a logarithmic axis's label.
    static func plain(_ v: Double) -> String {
        if v >= 1e5 || v < 1e-3 { return String(format: "%.0e", v) }
        if v >= 10 { return String(format: "%.0f", v) }
        return String(format: "%g", (v * 1000).rounded() / 1000)
    }
}
