"""Voilà reads this beside voila.json (``--Voila.config_file_paths=notebooks/dashboards``).

Kernels of closed pages are culled once no page has been connected for a minute (Voilà 0.5's own
shutdown request on page close is refused, voila#1458). A preheated kernel handed to a visitor
still carries the last activity of its preheating, which may be long ago, and has no connection
until the visitor's browser opens its websocket: a cull pass in that moment would take the page's
kernel away. So the first time the culler sees a kernel counts as activity: every kernel gets a
full idle timeout from then on, and a closed page's kernel still goes within about 90 s.
"""

from jupyter_server._tz import utcnow
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager


class FirstSightIsActivity(AsyncMappingKernelManager):
    """Culls as jupyter_server does, counting the culler's first sight of a kernel as activity.
    Voilà's pool manager asks only about kernels already handed to a page."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._seen = set()

    async def cull_kernel_if_idle(self, kernel_id):
        if kernel_id not in self._seen:
            self._seen.add(kernel_id)
            kernel = self._kernels.get(kernel_id)
            if kernel is not None:
                kernel.last_activity = max(kernel.last_activity, utcnow())
            return None
        return await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_kernel(self, kernel_id, *args, **kwargs):
        self._seen.discard(kernel_id)
        return await super().shutdown_kernel(kernel_id, *args, **kwargs)


c = get_config()  # noqa: F821 (traitlets provides it)
c.VoilaConfiguration.multi_kernel_manager_class = FirstSightIsActivity
