"""The cluster backend (``CNNLAB_RAY_ADDRESS``): long jobs as Ray tasks (``jobs``) and the
pretrained models as Ray Serve deployments that batch concurrent users' requests
(``serving``). Imported only when the address is set: the embedded default never imports Ray.
"""
