#include "pretext/widgets/export_controller.h"

#include <QMessageBox>
#include <QStatusBar>
#include <QToolButton>
#include <cmath>
#include <filesystem>

#include "pretext/render/scene.h"
#include "pretext/widgets/metric_chart.h"
#include "pretext/widgets/point_cloud_view.h"

namespace pretext::widgets {

namespace {
QString laneOf(int id) { return QStringLiteral("export-%1").arg(id); }
}  // namespace

ExportController::ExportController(QStatusBar* bar, PointCloudView* view,
                                   std::vector<MetricChart*> charts, QWidget* dialogParent)
    : QObject(bar),
      m_bar(bar),
      m_view(view),
      m_charts(std::move(charts)),
      m_dialogParent(dialogParent) {
  m_cancel = new QToolButton();
  m_cancel->setText(tr("Cancel export"));
  m_cancel->setToolTip(tr("Stop waiting for the export; the file it is writing is discarded"));
  m_bar->addPermanentWidget(m_cancel);
  m_cancel->hide();
  connect(m_cancel, &QToolButton::clicked, this, &ExportController::cancel);
}

template <class Work>
QFuture<QString> ExportController::track(const QString& file, const QString& message,
                                         bool interactive, Work work) {
  const int id = ++m_exportId;
  m_bar->showMessage(message);
  m_cancel->show();
  return m_jobs.run(
      laneOf(id), [work = std::move(work)](const session::CancelToken&) { return work(); },
      [this, file, interactive, id](const QString& error) { finish(file, error, interactive, id); },
      [this, file, id] {
        // Cancelled: the user gave up on it, so no half-wanted file is left behind. The
        // file is removed in a job of its own; exportDone follows.
        const std::string path = file.toStdString();
        m_jobs.run(
            laneOf(id) + "-discard",
            [path](const session::CancelToken&) {
              std::error_code ec;
              return std::filesystem::remove(path, ec);
            },
            [this, file](bool) {
              Q_EMIT logLine(1, tr("export cancelled: %1 not kept").arg(file));
              Q_EMIT exportDone(file, tr("cancelled"));
            });
      });
}

void ExportController::finish(const QString& file, const QString& error, bool interactive, int id) {
  if (id == m_exportId) {
    m_bar->clearMessage();
    m_cancel->hide();
  }
  if (error.isEmpty()) {
    Q_EMIT logLine(0, tr("written: %1").arg(file));
  } else {
    Q_EMIT logLine(2, error);
    if (interactive) QMessageBox::warning(m_dialogParent, tr("Export failed"), error);
  }
  Q_EMIT exportDone(file, error);
}

QFuture<QString> ExportController::export3dView(const QString& file, double scale, bool transparent,
                                                bool interactive) {
  // What is on screen is copied here; the off-screen render (its own VTK window and GL
  // context) runs on a worker, so the GUI keeps drawing meanwhile.
  const render::Scene scene = m_view->scene();
  const render::SceneCamera camera = m_view->camera();
  const double factor = scale * m_view->devicePixelRatioF();
  const int w = static_cast<int>(std::lround(m_view->width() * factor));
  const int h = static_cast<int>(std::lround(m_view->height() * factor));
  const std::string path = file.toStdString();
  return track(file, tr("Rendering the 3D view at %1 x %2…").arg(w).arg(h), interactive, [=] {
    std::string error;
    render::renderScene(scene, camera, w, h, transparent, factor, path, error);
    return QString::fromStdString(error);
  });
}

bool ExportController::exportFigure(const QString& file, const QString& style, QString& error) {
  render::FigureStyle st;
  std::vector<render::FigurePanel> panels;
  return figureJob(style, st, panels, error) &&
         render::renderFigure(panels, st, render::FigureOptions{}, file, error);
}

QFuture<QString> ExportController::exportFigureAsync(const QString& file, const QString& style,
                                                     bool interactive) {
  render::FigureStyle st;
  std::vector<render::FigurePanel> panels;
  QString error;
  if (!figureJob(style, st, panels, error)) {
    Q_EMIT logLine(2, error);
    if (interactive) QMessageBox::warning(m_dialogParent, tr("Export failed"), error);
    return QtFuture::makeReadyFuture(error);
  }
  // The curves were copied here; painting 10^6-point curves into a PDF runs on a worker.
  return track(file, tr("Writing the figure %1…").arg(file), interactive,
               [panels = std::move(panels), st, file] {
                 QString err;
                 render::renderFigure(panels, st, render::FigureOptions{}, file, err);
                 return err;
               });
}

bool ExportController::exporting() const { return m_cancel->isVisible(); }

void ExportController::cancel() {
  if (!m_cancel->isVisible()) return;
  m_jobs.cancel(laneOf(m_exportId));
  m_cancel->hide();
  m_bar->showMessage(tr("Export cancelled; its output will be discarded"), 3000);
}

bool ExportController::figureJob(const QString& style, render::FigureStyle& st,
                                 std::vector<render::FigurePanel>& panels, QString& error) {
  try {
    st = render::figureStyle(style.toStdString());
  } catch (const std::invalid_argument& e) {
    error = QString::fromStdString(e.what());
    return false;
  }
  bool any = false;
  for (MetricChart* chart : m_charts) {
    render::FigurePanel panel;
    panel.yLabel = render::metricAxisLabel(chart->key().toStdString());
    panel.logY = chart->logY();
    for (auto& c : chart->curves()) {
      render::FigureSeries s;
      s.label = render::figureRunLabel(c.run.toStdString());
      s.colorIndex = c.color;
      s.points = std::move(c.points);
      any = any || !s.points.empty();
      panel.series.push_back(std::move(s));
    }
    panels.push_back(std::move(panel));
  }
  if (!any) {
    error = tr("The plots are empty: start or open a run first.");
    return false;
  }
  return true;
}

}  // namespace pretext::widgets
