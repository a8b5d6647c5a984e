"""The delay model's code as MLflow logs it ("models from code"): loading runs this file.

``mlflow.pyfunc.log_model(python_model=<this file>)`` stores the file with the model, and
``mlflow.pyfunc.load_model`` runs it to get the model object, rather than unpickling one.
"""

from mlflow.models import set_model

from featurelake.models.delay.pyfunc import DelayPyfunc

set_model(DelayPyfunc())
