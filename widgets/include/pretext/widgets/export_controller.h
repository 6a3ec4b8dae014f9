#pragma once
// Figures and 3D views written from the window: the two plots as a PDF/SVG/PNG figure
// (render/figure.h) and the 3D view off-screen at N times its resolution (render/scene.h).
// What is on screen is copied on the GUI thread; painting and writing run as jobs
// (JobRunner), one lane per export, so several can run and each can be cancelled: a
// cancelled export's file is deleted once its job returns. The status bar shows the newest
// export's message and a Cancel button. GUI thread only.
#include <QFuture>
#include <QObject>
#include <QString>
#include <vector>

#include "pretext/render/figure.h"
#include "pretext/session/job_runner.h"

class QStatusBar;
class QToolButton;
class QWidget;

namespace pretext::widgets {

class MetricChart;
class PointCloudView;

class ExportController : public QObject {
  Q_OBJECT
 public:
  ExportController(QStatusBar* bar, PointCloudView* view, std::vector<MetricChart*> charts,
                   QWidget* dialogParent);
  // The two plots as a figure in `style` (single-column, double-column, slide); the file
  // type follows the extension. False with `error` when the plots are empty or the style
  // is unknown.
  bool exportFigure(const QString& file, const QString& style, QString& error);
  // The same on a worker; a bad style or empty plots give a finished future with the error.
  // `interactive`: problems are also shown in a message box.
  QFuture<QString> exportFigureAsync(const QString& file, const QString& style,
                                     bool interactive = false);
  // The 3D view at `scale` times its size on screen; PNG (optionally transparent),
  // PDF or EPS.
  QFuture<QString> export3dView(const QString& file, double scale, bool transparent,
                                bool interactive = false);
  void cancel();  // the newest export
  bool exporting() const;

 Q_SIGNALS:
  // An export ended: `error` is empty on success, "cancelled", or the problem.
  void exportDone(const QString& file, const QString& error);
  void logLine(int level, const QString& line);

 private:
  bool figureJob(const QString& style, render::FigureStyle& st,
                 std::vector<render::FigurePanel>& panels, QString& error);
  template <class Work>
  QFuture<QString> track(const QString& file, const QString& message, bool interactive, Work work);
  void finish(const QString& file, const QString& error, bool interactive, int id);
  QStatusBar* m_bar = nullptr;
  PointCloudView* m_view = nullptr;
  std::vector<MetricChart*> m_charts;
  QWidget* m_dialogParent = nullptr;
  QToolButton* m_cancel = nullptr;
  session::JobRunner m_jobs;
  int m_exportId = 0;  // the newest export (the Cancel button belongs to it)
};

}  // namespace pretext::widgets
