from equipshare import create_app

app = create_app()
