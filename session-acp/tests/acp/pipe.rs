//! An in-memory line pipe: what one side writes (one JSON text per frame, as a line of stdio
//! would carry it), the other reads. Shared by the tests and the bench.

use tokio::sync::mpsc;

/// The writing end.
pub(crate) type LineSink =
    std::pin::Pin<Box<dyn futures_util::Sink<String, Error = std::io::Error> + Send>>;
/// The reading end.
pub(crate) type LineStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = std::io::Result<String>> + Send>>;

/// A pipe: frames sent into the sink come out of the stream, in order.
pub(crate) fn pipe() -> (LineSink, LineStream) {
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    let sink = futures_util::sink::unfold(tx, |tx, line: String| async move {
        assert!(!line.contains('\n'), "a frame spans lines: {line}");
        tx.send(line)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok::<_, std::io::Error>(tx)
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|line| (Ok(line), rx))
    });
    (Box::pin(sink), Box::pin(stream))
}
